"""A minimal, well-formed ONNX ModelProto written by hand (protobuf wire format), so tests need no
`onnx` package. Field numbers are from onnx/onnx.proto: ModelProto.ir_version = 1, graph = 7,
opset_import = 8; GraphProto.node = 1, name = 2, input = 11, output = 12; ValueInfoProto.name = 1;
NodeProto.input = 1, output = 2, op_type = 4; OperatorSetIdProto.version = 2.
"""


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number, payload):
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def model(inputs=("images",), outputs=("output0",), op_type="Relu", salt=""):
    """Bytes of an ONNX model with one `op_type` node from inputs[0] to outputs[0]; `salt` names
    the graph so two versions of a model differ in content (and digest)."""
    node = _field(1, inputs[0]) + _field(2, outputs[0]) + _field(4, op_type)
    graph = _field(1, node) + _field(2, "g" + salt)
    for name in inputs:
        graph += _field(11, _field(1, name))
    for name in outputs:
        graph += _field(12, _field(1, name))
    return _field(1, 8) + _field(7, graph) + _field(8, _field(2, 17))
