using System;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The ONNX Runtime comparison models, built in code: the feed-forward network as MatMul → Add → Relu → MatMul → Add
/// with the weights as initializers; attention as ONNX Runtime's fused com.microsoft.MultiHeadAttention over
/// [1, seq, dim] query, key and value (its own CPU kernel, the fastest attention ONNX Runtime offers here), and as the
/// standard-op graph an exporter writes (Reshape → Transpose → MatMul → Mul → Softmax → MatMul → Transpose → Reshape).
/// </summary>
public static class OnnxGraphs
{
    public static byte[] FeedForward(ShapeCase c) => FeedForward(c, weightsAsInputs: false);

    /// <summary>The feed-forward graph with W1, b1, W2 and b2 as inputs bound at run time, as our plain-array overload
    /// gets them: ONNX Runtime cannot prepack them when the session is created.</summary>
    public static byte[] FeedForwardWeightsAsInputs(ShapeCase c) => FeedForward(c, weightsAsInputs: true);

    private static byte[] FeedForward(ShapeCase c, bool weightsAsInputs)
    {
        int s = c.Shape.SequenceLength, e = c.Shape.EmbeddingDim, f = c.Shape.FfnDim;
        var graph = new GraphProto { Name = "feed_forward" };
        graph.Input.Add(Tensor("x", 1, s, e));
        graph.Output.Add(Tensor("y", 1, s, e));
        if (weightsAsInputs)
        {
            graph.Input.Add(Tensor("w1", e, f));
            graph.Input.Add(Tensor("b1", f));
            graph.Input.Add(Tensor("w2", f, e));
            graph.Input.Add(Tensor("b2", e));
        }
        else
        {
            graph.Initializer.Add(Initializer("w1", c.W1, e, f));
            graph.Initializer.Add(Initializer("b1", c.B1, f));
            graph.Initializer.Add(Initializer("w2", c.W2, f, e));
            graph.Initializer.Add(Initializer("b2", c.B2, e));
        }

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

    /// <summary>Attention in standard ONNX operators, as BERT exporters write it: heads split by Reshape and Transpose,
    /// Q·Kᵀ by MatMul against Kᵀ, the 1/√d scale by Mul, Softmax over the last axis, ·V by MatMul, heads merged back.</summary>
    public static byte[] AttentionStandardOps(ShapeCase c)
    {
        int s = c.Shape.SequenceLength, e = c.Shape.EmbeddingDim, h = c.Shape.Heads, d = c.Shape.HeadDim;
        var graph = new GraphProto { Name = "attention_standard_ops" };
        graph.Input.Add(Tensor("q", 1, s, e));
        graph.Input.Add(Tensor("k", 1, s, e));
        graph.Input.Add(Tensor("v", 1, s, e));
        graph.Output.Add(Tensor("output", 1, s, e));
        graph.Initializer.Add(Int64Initializer("heads_shape", 1, s, h, d));
        graph.Initializer.Add(Int64Initializer("merged_shape", 1, s, e));
        graph.Initializer.Add(Initializer("scale", new[] { (float)(1.0 / Math.Sqrt(d)) }));
        foreach (string name in new[] { "q", "k", "v" })
        {
            graph.Node.Add(Node("Reshape", $"{name}_4d", name, "heads_shape"));
        }

        graph.Node.Add(Transpose("q_heads", "q_4d", 0, 2, 1, 3));  // [1, h, s, d]
        graph.Node.Add(Transpose("k_heads_t", "k_4d", 0, 2, 3, 1)); // [1, h, d, s]
        graph.Node.Add(Transpose("v_heads", "v_4d", 0, 2, 1, 3));  // [1, h, s, d]
        graph.Node.Add(Node("MatMul", "scores", "q_heads", "k_heads_t"));
        graph.Node.Add(Node("Mul", "scaled", "scores", "scale"));
        NodeProto softmax = Node("Softmax", "weights", "scaled");
        softmax.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
        graph.Node.Add(softmax);
        graph.Node.Add(Node("MatMul", "context", "weights", "v_heads"));
        graph.Node.Add(Transpose("context_rows", "context", 0, 2, 1, 3));
        graph.Node.Add(Node("Reshape", "output", "context_rows", "merged_shape"));
        return Model(graph);
    }

    private static NodeProto Transpose(string output, string input, params long[] perm)
    {
        NodeProto node = Node("Transpose", output, input);
        var attribute = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(perm);
        node.Attribute.Add(attribute);
        return node;
    }

    private static TensorProto Int64Initializer(string name, params long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        return tensor;
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
