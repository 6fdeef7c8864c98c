using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Models.Onnx;
using Google.Protobuf;
using DataType = FixedShapeAttention.Models.Onnx.TensorProto.Types.DataType;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// A tiny but complete BERT encoder graph written with the loader's own ONNX message classes, shaped like a Hugging
/// Face opset-13 export (anonymous MatMul weights, named biases, decomposed LayerNorms, Concat-built Reshape shapes,
/// erf GELU): vocabulary 20, hidden 8, 2 heads, intermediate 16, 12 positions, 2 token types. The weights are seeded
/// random values, kept so that tests can compare what the loader returns with what was written.
/// </summary>
internal sealed class TinyBertModel
{
    public const int Vocab = 20, Hidden = 8, Heads = 2, HeadDim = 4, Ffn = 16, MaxPositions = 12, Types = 2;

    private readonly TinyBertOptions _options;
    private readonly Random _random = new(1234);
    private readonly GraphProto _graph = new() { Name = "tiny_bert" };
    private int _values;
    private int _anonymous = 100;

    public TinyBertModel(TinyBertOptions? options = null)
    {
        _options = options ?? new TinyBertOptions();
        Build();
        Model = new ModelProto
        {
            IrVersion = 7,
            ProducerName = "FixedShapeAttention.Models.Tests",
            Graph = _graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = _options.Gelu == GeluForm.Fused ? 20 : _options.FusedLayerNorm ? 17 : 13 } },
        };
    }

    public ModelProto Model { get; }

    /// <summary>Every float tensor written, by initializer name (anonymous weights included).</summary>
    public Dictionary<string, float[]> Written { get; } = new(StringComparer.Ordinal);

    /// <summary>For each layer, the names of its six projection weights in the order q, k, v, attention output, intermediate, output.</summary>
    public List<string[]> WeightNames { get; } = [];

    public string Name(string suffix) => _options.Prefix + suffix;

    public byte[] ToBytes() => Model.ToByteArray();

    /// <summary>A copy of the model changed by <paramref name="mutate"/>, serialized.</summary>
    public byte[] Mutated(Action<ModelProto> mutate)
    {
        ModelProto copy = Model.Clone();
        mutate(copy);
        return copy.ToByteArray();
    }

    private void Build()
    {
        _graph.Input.Add(new ValueInfoProto { Name = "input_ids" });
        _graph.Input.Add(new ValueInfoProto { Name = "token_type_ids" });
        _graph.Input.Add(new ValueInfoProto { Name = "position_ids" });

        string word = Parameter(Name("embeddings.word_embeddings.weight"), Vocab, Hidden);
        string position = Parameter(Name("embeddings.position_embeddings.weight"), MaxPositions, Hidden);
        string tokenType = Parameter(Name("embeddings.token_type_embeddings.weight"), Types, Hidden);
        string words = Node("Gather", word, "input_ids");
        string types = Node("Gather", tokenType, "token_type_ids");
        string positions = Node("Gather", position, "position_ids");
        string sum = Node("Add", Node("Add", words, types), positions);
        string hidden = LayerNorm(sum, Name("embeddings.LayerNorm"), _options.Epsilon);

        for (int layer = 0; layer < _options.Layers; layer++)
            hidden = EncoderLayer(hidden, Name($"encoder.layer.{layer}."));

        _graph.Output.Add(new ValueInfoProto { Name = hidden });
    }

    private string EncoderLayer(string x, string prefix)
    {
        var weights = new string[6];
        string q = Linear(x, prefix + "attention.self.query.bias", Hidden, Hidden, out weights[0], addBias: !_options.OmitQueryBiasAdd);
        string k = Linear(x, prefix + "attention.self.key.bias", Hidden, Hidden, out weights[1]);
        string v = Linear(x, prefix + "attention.self.value.bias", Hidden, Hidden, out weights[2]);

        // softmax(Q·Kᵀ/√headDim)·V per head, written the way PyTorch exports it.
        string qh = Node("Transpose", [SplitHeads(q)], [Ints("perm", 0, 2, 1, 3)]);
        string kh = Node("Transpose", [SplitHeads(k)], [Ints("perm", 0, 2, 3, 1)]);
        string vh = Node("Transpose", [SplitHeads(v)], [Ints("perm", 0, 2, 1, 3)]);
        string scores = Node("Div", Node("MatMul", qh, kh), Scalar(MathF.Sqrt(HeadDim)));
        string probabilities = Node("Softmax", [scores], [Int("axis", -1)]);
        string context = Node("Transpose", [Node("MatMul", probabilities, vh)], [Ints("perm", 0, 2, 1, 3)]);
        string merged = Node("Reshape", context, Int64s(0, 0, Hidden));

        string attention = Linear(merged, prefix + "attention.output.dense.bias", Hidden, Hidden, out weights[3]);
        string a = LayerNorm(Node("Add", attention, x), prefix + "attention.output.LayerNorm", _options.Epsilon);

        string h = Linear(a, prefix + "intermediate.dense.bias", Hidden, Ffn, out weights[4]);
        string y = Linear(Activation(h), prefix + "output.dense.bias", Ffn, Hidden, out weights[5]);
        WeightNames.Add(weights);
        return LayerNorm(Node("Add", y, a), prefix + "output.LayerNorm", _options.OutputLayerNormEpsilon ?? _options.Epsilon);
    }

    /// <summary>x·W + b with W anonymous, as exporters write it; the bias is added first-operand, like PyTorch's export.</summary>
    private string Linear(string x, string biasName, int inputs, int outputs, out string weightName, bool addBias = true)
    {
        weightName = Parameter($"onnx::MatMul_{_anonymous++}", inputs, outputs);
        string product = Node("MatMul", x, weightName);
        string bias = Parameter(biasName, outputs);
        return addBias ? Node("Add", bias, product) : product;
    }

    private string SplitHeads(string x)
    {
        (long heads, long headDim) = _options.ReshapeHeads ?? (Heads, HeadDim);
        if (_options.ConstantReshapeShape)
            return Node("Reshape", x, Int64s(0, 0, heads, headDim));

        // Batch and sequence sizes are read from the tensor at run time; heads and headDim are constants.
        string shape = Node("Shape", x);
        string batch = Node("Unsqueeze", Node("Gather", [shape, Int64Scalar(0)], [Int("axis", 0)]), Int64s(0));
        string sequence = Node("Unsqueeze", Node("Gather", [shape, Int64Scalar(1)], [Int("axis", 0)]), Int64s(0));
        string target = Node("Concat", [batch, sequence, Int64s(heads), Int64s(headDim)], [Int("axis", 0)]);
        return Node("Reshape", x, target);
    }

    private string Activation(string x) => _options.Gelu switch
    {
        GeluForm.ErfDivided => Node("Mul", Node("Mul", x, Node("Add", Node("Erf", Node("Div", x, Scalar(MathF.Sqrt(2f)))), Scalar(1f))), Scalar(0.5f)),
        GeluForm.ErfMultiplied => Node("Mul", Node("Mul", x, Scalar(0.5f)), Node("Add", Node("Erf", Node("Mul", x, Scalar(1f / MathF.Sqrt(2f)))), Scalar(1f))),
        GeluForm.Fused => Node("Gelu", [x], [String("approximate", "none")]),
        GeluForm.Tanh => Node("Mul", Node("Mul", x, Scalar(0.5f)), Node("Add", Node("Tanh",
            Node("Mul", Scalar(0.7978846f), Node("Add", x, Node("Mul", Scalar(0.044715f), Node("Pow", x, Scalar(3f)))))), Scalar(1f))),
        GeluForm.Relu => Node("Relu", x),
        _ => throw new ArgumentOutOfRangeException(nameof(_options)),
    };

    private string LayerNorm(string x, string prefix, float epsilon)
    {
        string gamma = Parameter(prefix + ".weight", Hidden);
        string beta = Parameter(prefix + ".bias", Hidden);
        if (_options.FusedLayerNorm)
            return Node("LayerNormalization", [x, gamma, beta], [Int("axis", -1), Float("epsilon", epsilon)]);

        string centered = Node("Sub", x, Node("ReduceMean", [x], [Ints("axes", -1)]));
        string variance = Node("ReduceMean", [Node("Pow", centered, Scalar(2f))], [Ints("axes", -1)]);
        string normalized = Node("Div", centered, Node("Sqrt", Node("Add", variance, Scalar(epsilon))));
        return Node("Add", Node("Mul", normalized, gamma), beta);
    }

    private string Parameter(string name, params int[] shape)
    {
        float[] values = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(_random.NextDouble() * 2 - 1);
        Written.Add(name, values);
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        if (_options.FloatData)
            tensor.FloatData.AddRange(values);
        else
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float scalar as a Constant node, as PyTorch exports literals.</summary>
    private string Scalar(float value) =>
        Node("Constant", [], [new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = new TensorProto { DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) } }]);

    private string Int64Scalar(long value) =>
        Node("Constant", [], [new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = new TensorProto { DataType = (int)DataType.Int64, Int64Data = { value } } }]);

    /// <summary>An INT64 vector as an anonymous initializer (how the MiniLM export stores Reshape's constants).</summary>
    private string Int64s(params long[] values)
    {
        string name = $"{_anonymous++}";
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64, Dims = { values.Length } };
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(tensor);
        return name;
    }

    private string Node(string op, params string[] inputs) => Node(op, inputs, []);

    private string Node(string op, string[] inputs, AttributeProto[] attributes)
    {
        string output = $"v{_values++}";
        var node = new NodeProto { OpType = op, Name = $"{op}_{_values}", Input = { inputs }, Output = { output } };
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto String(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
