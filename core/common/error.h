// Errors raised by the engine. Every message names what is at fault: the file, the node (name and op
// type), the tensor, or the value, so a user can find it in Netron or in their data.
#pragma once

#include <stdexcept>
#include <string>

namespace qs {

// Base class of every error the engine throws on bad input or unsupported content.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// The model uses something QuantScope does not implement (an op, an attribute value, a data type).
class UnsupportedError : public Error {
 public:
  explicit UnsupportedError(const std::string& what) : Error(what) {}
};

// A long job was cancelled by its CancelToken; nothing it was working on has been modified.
class CancelledError : public Error {
 public:
  CancelledError() : Error("cancelled") {}
};

}  // namespace qs
