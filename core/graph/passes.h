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
// Drops initializers no node uses and that are not graph outputs.
void remove_unused_initializers(Graph& g);

}  // namespace qs
