/// Which ONNX operators the double lets run on a DLA core.
///
/// A fixture marks a layer the DLA lacks simply by containing a node whose `op_type` is not in
/// this set (e.g. `NonMaxSuppression`, `TopK`, `NonZero`). The set is the ONNX operators that map
/// to the layer kinds of NVIDIA's "DLA Supported Layers and Restrictions" table (Activation:
/// ReLU, Sigmoid, TanH, Clip; Convolution, Deconvolution, Fully Connected; Pooling; Scale;
/// ElementWise; LRN; Concatenation; Resize; Unary; Slice; SoftMax; Shuffle; Reduce) —
/// docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/dla-layer-restrictions.html.
/// Per-layer restrictions (kernel sizes, ranks, precisions) are not modelled.
enum DLASupport {
  static let operators: Set<String> = [
    "Conv", "ConvTranspose", "Gemm", "MatMul",
    "Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu", "PRelu",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "BatchNormalization", "LRN",
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Equal", "Greater", "Less",
    "Concat", "Resize", "Upsample", "Abs", "Sin", "Cos", "Slice", "Softmax",
    "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Constant",
    "ReduceMax", "ReduceMean",
  ]
}
