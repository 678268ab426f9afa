// Graph passes run after import. Each keeps value names of everything it does not remove.
#pragma once

#include "core/graph/graph.h"

namespace qs {

// Removes Identity nodes and inference-mode Dropout (rewiring consumers); keeps one when its output is a
// graph output fed directly by a graph input or initializer. Returns the number removed.
int remove_identity(Graph& g);
// Evaluates nodes whose inputs are all initializers (and Shape of values whose shape is statically
// known) and replaces them by initializers. Returns the number folded.
int fold_constants(Graph& g);
// Folds BatchNormalization (inference form, constant parameters) into the Conv, ConvTranspose or Gemm that
// feeds it when that node's output has no other consumer. Returns the number folded.
int fold_batchnorm(Graph& g);
// Replaces each If whose condition is known at load time — a constant, or a value computed from the
// inputs' shapes only (through Shape/Size), the same with unknown extents as 1 and as 3 — by the nodes of
// the branch it takes: their values and node names prefixed with the If's name, the branch's initializers
// added, its outputs renamed to the If's outputs. torch writes such Ifs for shape checks it could not
// resolve while tracing (nn.LocalResponseNorm's squeeze). Nodes stay in topological order only after
// Graph::topological_sort. Returns the number inlined.
int inline_constant_ifs(Graph& g);
// Drops initializers no node uses and that are not graph outputs.
void remove_unused_initializers(Graph& g);

}  // namespace qs
