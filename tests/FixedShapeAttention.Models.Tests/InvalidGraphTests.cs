using System.IO;
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using FixedShapeAttention.Models.Onnx;
using Google.Protobuf;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// Well-formed tensors in a graph that is not the supported BERT encoder (missing pieces, miswired layers, another
/// activation, inconsistent settings): each is rejected with a message saying what was expected where.
/// </summary>
public sealed class InvalidGraphTests
{
    private static readonly TinyBertModel Model = new();

    private static string Layer0(string suffix) => Model.Name($"encoder.layer.0.{suffix}");

    /// <summary>Each case: the change to the tiny model, and words the message must contain.</summary>
    private static readonly Dictionary<string, (Action<ModelProto> Mutate, string[] Message)> Cases = new()
    {
        ["no graph"] = (m => m.Graph = null, ["no graph"]),
        ["no ir_version"] = (m => m.ClearIrVersion(), ["ir_version"]),
        ["no default-domain opset"] = (m => m.OpsetImport[0].Domain = "com.example", ["opset_import"]),
        ["missing output LayerNorm β"] = (m => ModelSurgery.Remove(m, Layer0("output.LayerNorm.bias")),
            ["layer 0 output LayerNorm", $"missing initializer '{Layer0("output.LayerNorm.bias")}'"]),
        ["missing query bias"] = (m => ModelSurgery.Remove(m, Layer0("attention.self.query.bias")),
            ["layer 0 query projection", $"missing initializer '{Layer0("attention.self.query.bias")}'"]),
        ["missing anonymous key weight"] = (m => ModelSurgery.Remove(m, Model.WeightNames[0][1]),
            ["layer 0 key projection", $"multiplies by '{Model.WeightNames[0][1]}'", "expected the weight to be an initializer"]),
        ["missing token-type embeddings"] = (m => ModelSurgery.Remove(m, Model.Name("embeddings.token_type_embeddings.weight")),
            ["missing initializer 'embeddings.token_type_embeddings.weight'"]),
        ["word embeddings under another name"] = (m => ModelSurgery.Tensor(m, Model.Name("embeddings.word_embeddings.weight")).Name = "wte",
            ["no initializer named 'embeddings.word_embeddings.weight'"]),
        ["layer 0 renamed to layer 1"] = (m => RenameEverywhere(m, "encoder.layer.0.", "encoder.layer.1."),
            ["encoder layers are not numbered 0…0: there is no 'encoder.layer.0.'"]),
        ["one initializer of layer 2147483646"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).Name = "encoder.layer.2147483646.output.dense.bias",
            ["encoder layers are not numbered 0…1: there is no 'encoder.layer.1.' but there is 'encoder.layer.2147483646.'"]),
        ["layer 0 incomplete"] = (m => RenameEverywhere(m, "encoder.layer.0.attention.self.", "encoder.layer.7.attention.self."),
            ["encoder layers are not numbered 0…1"]),
        ["layer index not a number"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).Name = "encoder.layer.x.output.dense.bias",
            ["'x' is not a layer index"]),
        ["bias Add missing: MatMul feeds the Reshape directly"] = (m => BypassBiasAdd(m, Layer0("attention.self.value.bias")),
            [$"no node uses the bias '{Layer0("attention.self.value.bias")}'"]),
        ["bias used by a second node"] = (m => m.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { Layer0("output.dense.bias") }, Output = { "extra" } }),
            ["layer 0 output projection", "used by 2 nodes"]),
        ["bias added to an initializer, not a MatMul"] = (m => AddToStrayInitializer(m, Layer0("attention.output.dense.bias")),
            ["layer 0 attention output projection", "to be computed by MatMul, but it is an initializer"]),
        ["key projection reads the graph input"] = (m => MatMulOf(m, Model.WeightNames[0][1]).Input[0] = "input_ids",
            ["layer 0 key projection", "reads 'input_ids'"]),
        ["attention residual adds the projection to itself"] = (m => MiswireResidual(m, Layer0("attention.output.dense.bias")),
            ["layer 0 attention LayerNorm", "the residual"]),
        ["feed-forward residual missing"] = (m => MiswireResidual(m, Layer0("output.dense.bias")),
            ["layer 0 output LayerNorm", "the residual"]),
        ["no Reshape into heads"] = (m => HeadSplit(m, Layer0("attention.self.query.bias")).OpType = "Identity",
            ["layer 0 query heads", "no Reshape"]),
        ["heads × headDim is not the hidden size"] = (m => ReplaceInt64s(m, [2L], [3L]),
            ["heads × headDim = hidden size 8"]),
        ["embedding sum without the token types"] = (m => DropTokenTypes(m),
            ["embedding LayerNorm", "does not look up the table 'embeddings.token_type_embeddings.weight'"]),
        ["LayerNorm mean over all axes"] = (m => m.Graph.Node.First(n => n.OpType == "ReduceMean").Attribute.Clear(),
            ["embedding LayerNorm", "averages axes [all]"]),
        ["LayerNorm without the Sqrt"] = (m => ReplaceOp(m, "Sqrt", "Abs"),
            ["embedding LayerNorm", "to be computed by Sqrt"]),
        ["duplicate initializer"] = (m => m.Graph.Initializer.Add(ModelSurgery.Tensor(m, Layer0("output.dense.bias")).Clone()),
            [$"initializer '{Layer0("output.dense.bias")}' is defined twice"]),
        ["value produced twice"] = (m => m.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "input_ids" }, Output = { m.Graph.Node[5].Output[0] } }),
            [$"value '{Model.Model.Graph.Node[5].Output[0]}' is produced twice"]),
        ["unnamed initializer"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).ClearName(),
            ["has no name"]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Unsupported_graph_is_rejected_saying_where(string name)
    {
        (Action<ModelProto> mutate, string[] message) = Cases[name];

        InvalidDataException error = await LoadAttempt.RejectsAsync(Model.Mutated(mutate));

        foreach (string part in message)
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GeluForm.Tanh, "Tanh")]
    [InlineData(GeluForm.Relu, "Relu")]
    public async Task Activation_other_than_the_erf_GELU_is_rejected(GeluForm form, string found)
    {
        InvalidDataException error = await LoadAttempt.RejectsAsync(new TinyBertModel(new TinyBertOptions { Gelu = form }).ToBytes());

        Assert.Contains("layer 0 feed-forward activation", error.Message, StringComparison.Ordinal);
        Assert.Contains("not the erf GELU", error.Message, StringComparison.Ordinal);
        Assert.Contains(found, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fused_Gelu_with_the_tanh_approximation_is_rejected()
    {
        var fused = new TinyBertModel(new TinyBertOptions { Gelu = GeluForm.Fused });
        byte[] bytes = fused.Mutated(m => m.Graph.Node.Single(n => n.OpType == "Gelu").Attribute[0].S = ByteString.CopyFromUtf8("tanh"));

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.Contains("approximate = \"tanh\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Erf_of_x_not_divided_by_sqrt2_is_rejected()
    {
        byte[] bytes = Model.Mutated(m =>
        {
            NodeProto erf = m.Graph.Node.Single(n => n.OpType == "Erf");
            NodeProto divide = ModelSurgery.Producer(m, erf.Input[0]);
            ModelSurgery.Producer(m, divide.Input[1]).Attribute[0].T.RawData = ByteString.CopyFrom(BitConverter.GetBytes(2f));
        });

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.Contains("is not", error.Message, StringComparison.Ordinal);
        Assert.Contains("√2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LayerNorms_with_different_epsilons_are_rejected()
    {
        var model = new TinyBertModel(new TinyBertOptions { OutputLayerNormEpsilon = 1e-5f });

        InvalidDataException error = await LoadAttempt.RejectsAsync(model.ToBytes());

        Assert.Contains("layer 0 output LayerNorm: ε = 1E-05 differs from the embedding LayerNorm's ε = 1E-12", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fused_LayerNorm_over_another_axis_is_rejected()
    {
        var fused = new TinyBertModel(new TinyBertOptions { FusedLayerNorm = true });
        byte[] bytes = fused.Mutated(m => m.Graph.Node.First(n => n.OpType == "LayerNormalization").Attribute.Single(a => a.Name == "axis").I = 1);

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.Contains("normalises axis 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Second_layer_with_another_head_count_is_rejected()
    {
        var model = new TinyBertModel(new TinyBertOptions { Layers = 2, ConstantReshapeShape = true });
        byte[] bytes = model.Mutated(m =>
        {
            // Layer 1's three head splits become [4 heads, 2] (still 8 wide); layer 0 keeps [2, 4].
            foreach (string bias in new[] { "query", "key", "value" }.Select(p => model.Name($"encoder.layer.1.attention.self.{p}.bias")))
            {
                NodeProto reshape = m.Graph.Node.Single(n => n.OpType == "Reshape" && n.Input[0] == ModelSurgery.User(m, bias).Output[0]);
                ModelSurgery.Tensor(m, reshape.Input[1]).RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes<long>([0, 0, 4, 2]));
            }
        });

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.Contains("layer 1: 4 heads", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The Add node using <paramref name="bias"/> is removed and its users read the MatMul instead.</summary>
    private static void BypassBiasAdd(ModelProto model, string bias)
    {
        NodeProto add = ModelSurgery.User(model, bias);
        string product = add.Input.Single(i => i != bias);
        foreach (NodeProto node in model.Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == add.Output[0])
                    node.Input[i] = product;
            }
        }

        model.Graph.Node.Remove(add);
    }

    private static NodeProto MatMulOf(ModelProto model, string weight) => model.Graph.Node.Single(n => n.OpType == "MatMul" && n.Input[1] == weight);

    /// <summary>The residual Add after a projection adds the projection twice instead of projection + residual.</summary>
    private static void MiswireResidual(ModelProto model, string bias)
    {
        string projected = ModelSurgery.User(model, bias).Output[0];
        NodeProto residual = ModelSurgery.User(model, projected);
        residual.Input[1] = projected;
        residual.Input[0] = projected;
    }

    private static void ReplaceOp(ModelProto model, string op, string replacement)
    {
        foreach (NodeProto node in model.Graph.Node.Where(n => n.OpType == op))
            node.OpType = replacement;
    }

    /// <summary>Rewrites every one-element INT64 initializer holding <paramref name="from"/> (the Concat's heads entries).</summary>
    private static void ReplaceInt64s(ModelProto model, long[] from, long[] to)
    {
        byte[] old = System.Runtime.InteropServices.MemoryMarshal.AsBytes(from.AsSpan()).ToArray();
        foreach (TensorProto tensor in model.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Int64 && t.RawData.Span.SequenceEqual(old)))
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(to.AsSpan()));
    }

    /// <summary>The Add of word and token-type lookups adds the word lookup twice.</summary>
    private static void DropTokenTypes(ModelProto model)
    {
        NodeProto wordLookup = ModelSurgery.User(model, Model.Name("embeddings.word_embeddings.weight"));
        NodeProto add = ModelSurgery.User(model, wordLookup.Output[0]);
        add.Input[0] = wordLookup.Output[0];
        add.Input[1] = wordLookup.Output[0];
    }

    /// <summary>The Reshape that splits the projection whose bias is <paramref name="bias"/> into heads.</summary>
    private static NodeProto HeadSplit(ModelProto model, string bias)
    {
        string projected = ModelSurgery.User(model, bias).Output[0];
        return model.Graph.Node.Single(n => n.OpType == "Reshape" && n.Input[0] == projected);
    }

    /// <summary>The bias is added to a new constant initializer instead of its MatMul's product.</summary>
    private static void AddToStrayInitializer(ModelProto model, string bias)
    {
        var stray = new TensorProto { Name = "stray", DataType = (int)TensorProto.Types.DataType.Float, Dims = { TinyBertModel.Hidden } };
        stray.FloatData.AddRange(new float[TinyBertModel.Hidden]);
        model.Graph.Initializer.Add(stray);
        NodeProto add = ModelSurgery.User(model, bias);
        add.Input[add.Input[0] == bias ? 1 : 0] = "stray";
    }

    private static void RenameEverywhere(ModelProto model, string from, string to)
    {
        foreach (TensorProto tensor in model.Graph.Initializer)
            tensor.Name = tensor.Name.Replace(from, to, StringComparison.Ordinal);
        foreach (NodeProto node in model.Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
                node.Input[i] = node.Input[i].Replace(from, to, StringComparison.Ordinal);
        }
    }
}
