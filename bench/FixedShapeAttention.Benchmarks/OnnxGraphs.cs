using System;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The ONNX Runtime comparison models, built in code: the feed-forward network as MatMul → Add → Relu → MatMul → Add
/// with the weights as initializers, and attention as ONNX Runtime's fused com.microsoft.MultiHeadAttention over
/// [1, seq, dim] query, key and value (its own CPU kernel, the fastest attention ONNX Runtime offers here).
/// </summary>
public static class OnnxGraphs
{
    public static byte[] FeedForward(ShapeCase c)
    {
        int s = c.Shape.SequenceLength, e = c.Shape.EmbeddingDim, f = c.Shape.FfnDim;
        var graph = new GraphProto { Name = "feed_forward" };
        graph.Input.Add(Tensor("x", 1, s, e));
        graph.Output.Add(Tensor("y", 1, s, e));
        graph.Initializer.Add(Initializer("w1", c.W1, e, f));
        graph.Initializer.Add(Initializer("b1", c.B1, f));
        graph.Initializer.Add(Initializer("w2", c.W2, f, e));
        graph.Initializer.Add(Initializer("b2", c.B2, e));
        graph.Node.Add(Node("MatMul", "h0", "x", "w1"));
        graph.Node.Add(Node("Add", "h1", "h0", "b1"));
        graph.Node.Add(Node("Relu", "h2", "h1"));
        graph.Node.Add(Node("MatMul", "y0", "h2", "w2"));
        graph.Node.Add(Node("Add", "y", "y0", "b2"));
        return Model(graph);
    }

    public static byte[] Attention(ShapeCase c)
    {
        int s = c.Shape.SequenceLength, e = c.Shape.EmbeddingDim;
        var graph = new GraphProto { Name = "attention" };
        graph.Input.Add(Tensor("q", 1, s, e));
        graph.Input.Add(Tensor("k", 1, s, e));
        graph.Input.Add(Tensor("v", 1, s, e));
        graph.Output.Add(Tensor("output", 1, s, e));
        NodeProto attention = Node("MultiHeadAttention", "output", "q", "k", "v");
        attention.Domain = "com.microsoft";
        attention.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = c.Shape.Heads });
        graph.Node.Add(attention);
        return Model(graph);
    }

    private static byte[] Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "FixedShapeAttention.Benchmarks" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return model.ToByteArray();
    }

    private static ValueInfoProto Tensor(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long dim in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto Initializer(string name, float[] data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        return tensor;
    }

    private static NodeProto Node(string op, string output, params string[] inputs)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }
}
