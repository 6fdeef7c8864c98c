using System;
using System.Linq;
using System.Runtime.InteropServices;
using FixedShapeAttention.Training;
using Google.Protobuf;
using Onnx;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The peer of <see cref="FixedShapeAttention.Decoding.LanguageModelDecoder"/>: the same pre-norm
/// <see cref="TransformerLanguageModel"/>, with its own parameters as initializers, as the ONNX graph a decoder
/// exporter writes for ONNX Runtime. Token and position embeddings by Gather; per layer LayerNormalization, the Q, K and
/// V projections (MatMul + Add), ONNX Runtime's fused com.microsoft.MultiHeadAttention (causal, unidirectional = 1)
/// taking past_key_l / past_value_l [batch, heads, past, headDim] and returning present_key_l / present_value_l
/// [batch, heads, past + tokens, headDim], the output projection, LayerNormalization and the FFN with
/// com.microsoft.FastGelu (the tanh GELU the model uses); then the last token's row only through the final LayerNorm
/// and the head (the embedding transposed when tied, as the model ties it). Input ids and position ids are int64
/// [batch, tokens]; logits are [batch, 1, vocabulary]. Batch, tokens and past are symbolic dimensions.
/// </summary>
public static class OnnxDecoderGraph
{
    /// <param name="withPast">false: the prefill graph, whose attention has no past inputs (past = 0).</param>
    /// <exception cref="NotSupportedException">The model is post-norm, grouped-query, rotary or not GELU-tanh: the
    /// graph mirrors the demo model only.</exception>
    public static byte[] Build(TransformerLanguageModel model, bool withPast)
    {
        LanguageModelConfig c = model.Config;
        if (!c.PreNorm || c.KeyValueHeadCount != c.Heads || c.RotaryPositions || c.Activation != Activation.GeluTanh || !c.Causal)
            throw new NotSupportedException("the ONNX peer covers causal pre-norm models with learned positions, full heads and GELU-tanh.");
        int d = c.Dim, f = c.Ffn, h = c.Heads, dh = c.HeadDim;
        var graph = new GraphProto { Name = withPast ? "decoder_with_past" : "decoder_prefill" };
        graph.Input.Add(Tensor("input_ids", TensorProto.Types.DataType.Int64, "batch", "tokens"));
        graph.Input.Add(Tensor("position_ids", TensorProto.Types.DataType.Int64, "batch", "tokens"));
        graph.Output.Add(Tensor("logits", TensorProto.Types.DataType.Float, "batch", 1, c.Vocabulary));
        Add(graph, model, "embed.tokens", c.Vocabulary, d);
        Add(graph, model, "embed.positions", c.SequenceLength, d);
        graph.Node.Add(Node("Gather", "tokens_embedded", "embed.tokens", "input_ids"));
        graph.Node.Add(Node("Gather", "positions_embedded", "embed.positions", "position_ids"));
        graph.Node.Add(Node("Add", "x0", "tokens_embedded", "positions_embedded"));

        string x = "x0";
        for (int l = 0; l < c.Layers; l++)
        {
            string p = $"layers.{l}.";
            foreach (var (name, shape) in new (string, int[])[]
            {
                ("ln1.gamma", [d]), ("ln1.beta", [d]), ("attn.wq", [d, d]), ("attn.bq", [d]), ("attn.wk", [d, d]), ("attn.bk", [d]),
                ("attn.wv", [d, d]), ("attn.bv", [d]), ("attn.wo", [d, d]), ("attn.bo", [d]), ("ln2.gamma", [d]), ("ln2.beta", [d]),
                ("ffn.w1", [d, f]), ("ffn.b1", [f]), ("ffn.w2", [f, d]), ("ffn.b2", [d]),
            })
            {
                Add(graph, model, p + name, shape);
            }

            graph.Node.Add(LayerNorm($"{p}n1", x, p + "ln1", c.LayerNormEpsilon));
            foreach (string projection in new[] { "q", "k", "v" })
            {
                graph.Node.Add(Node("MatMul", $"{p}{projection}0", $"{p}n1", $"{p}attn.w{projection}"));
                graph.Node.Add(Node("Add", $"{p}{projection}", $"{p}{projection}0", $"{p}attn.b{projection}"));
            }

            NodeProto attention = withPast
                ? Node("MultiHeadAttention", [$"{p}attention", $"present_key_{l}", $"present_value_{l}"],
                    $"{p}q", $"{p}k", $"{p}v", "", "", "", $"past_key_{l}", $"past_value_{l}")
                : Node("MultiHeadAttention", [$"{p}attention", $"present_key_{l}", $"present_value_{l}"], $"{p}q", $"{p}k", $"{p}v");
            attention.Domain = "com.microsoft";
            attention.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = h });
            attention.Attribute.Add(new AttributeProto { Name = "unidirectional", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            graph.Node.Add(attention);
            if (withPast)
            {
                graph.Input.Add(Tensor($"past_key_{l}", TensorProto.Types.DataType.Float, "batch", h, "past", dh));
                graph.Input.Add(Tensor($"past_value_{l}", TensorProto.Types.DataType.Float, "batch", h, "past", dh));
            }

            graph.Output.Add(Tensor($"present_key_{l}", TensorProto.Types.DataType.Float, "batch", h, "total", dh));
            graph.Output.Add(Tensor($"present_value_{l}", TensorProto.Types.DataType.Float, "batch", h, "total", dh));

            graph.Node.Add(Node("MatMul", $"{p}o0", $"{p}attention", $"{p}attn.wo"));
            graph.Node.Add(Node("Add", $"{p}o", $"{p}o0", $"{p}attn.bo"));
            graph.Node.Add(Node("Add", $"{p}sum1", x, $"{p}o"));
            graph.Node.Add(LayerNorm($"{p}n2", $"{p}sum1", p + "ln2", c.LayerNormEpsilon));
            graph.Node.Add(Node("MatMul", $"{p}h0", $"{p}n2", $"{p}ffn.w1"));
            NodeProto gelu = Node("FastGelu", $"{p}g", $"{p}h0", $"{p}ffn.b1");
            gelu.Domain = "com.microsoft";
            graph.Node.Add(gelu);
            graph.Node.Add(Node("MatMul", $"{p}f0", $"{p}g", $"{p}ffn.w2"));
            graph.Node.Add(Node("Add", $"{p}f", $"{p}f0", $"{p}ffn.b2"));
            graph.Node.Add(Node("Add", $"x{l + 1}", $"{p}sum1", $"{p}f"));
            x = $"x{l + 1}";
        }

        // Only the last token's logits, as the decoder writes them.
        graph.Initializer.Add(Int64Initializer("last_start", -1));
        graph.Initializer.Add(Int64Initializer("last_end", long.MaxValue));
        graph.Initializer.Add(Int64Initializer("token_axis", 1));
        graph.Node.Add(Node("Slice", "last", x, "last_start", "last_end", "token_axis"));
        Add(graph, model, "final_ln.gamma", d);
        Add(graph, model, "final_ln.beta", d);
        graph.Node.Add(LayerNorm("final", "last", "final_ln", c.LayerNormEpsilon));
        if (c.TiedEmbeddings)
        {
            NodeProto transpose = Node("Transpose", "head", "embed.tokens");
            var perm = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints };
            perm.Ints.AddRange([1, 0]);
            transpose.Attribute.Add(perm);
            graph.Node.Add(transpose);
            graph.Node.Add(Node("MatMul", "logits", "final", "head"));
        }
        else
        {
            Add(graph, model, "head.weight", d, c.Vocabulary);
            graph.Node.Add(Node("MatMul", "logits", "final", "head.weight"));
        }

        var proto = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "FixedShapeAttention.Benchmarks" };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return proto.ToByteArray();
    }

    private static NodeProto LayerNorm(string output, string input, string prefix, float epsilon)
    {
        NodeProto node = Node("LayerNormalization", output, input, prefix + ".gamma", prefix + ".beta");
        node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
        node.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = epsilon });
        return node;
    }

    private static void Add(GraphProto graph, TransformerLanguageModel model, string name, params int[] shape)
    {
        TrainableTensor parameter = model.GetParameter(name);
        if (!parameter.Shape.SequenceEqual(shape))
            throw new InvalidOperationException($"{name}: the graph expects [{string.Join(", ", shape)}], the model has [{string.Join(", ", parameter.Shape.ToArray())}].");
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(shape.Select(s => (long)s));
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(parameter.Value.AsSpan()));
        graph.Initializer.Add(tensor);
    }

    private static TensorProto Int64Initializer(string name, long value)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(1);
        tensor.Int64Data.Add(value);
        return tensor;
    }

    private static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim) });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static NodeProto Node(string op, string output, params string[] inputs) => Node(op, [output], inputs);

    private static NodeProto Node(string op, string[] outputs, params string[] inputs)
    {
        var node = new NodeProto { OpType = op, Name = outputs[0] };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }
}
