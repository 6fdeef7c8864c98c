using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using FixedShapeAttention.Models.Onnx;
using Google.Protobuf;
using Xunit;
using DataType = FixedShapeAttention.Models.Onnx.TensorProto.Types.DataType;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// Tensors whose declaration disagrees with their data or with the model: each is rejected with a message naming the
/// tensor and what was expected, before any array is allocated for it.
/// </summary>
public sealed class InvalidTensorTests
{
    private static readonly TinyBertModel Model = new();
    private static readonly TinyBertModel FloatDataModel = new(new TinyBertOptions { FloatData = true });

    private static string Word => Model.Name("embeddings.word_embeddings.weight");

    private static string Position => Model.Name("embeddings.position_embeddings.weight");

    private static string Layer0(string suffix) => Model.Name($"encoder.layer.0.{suffix}");

    /// <summary>Each case: the change to the tiny model, and words the message must contain.</summary>
    private static readonly Dictionary<string, (Action<ModelProto> Mutate, string[] Message)> Cases = new()
    {
        ["word embeddings declare 2^40 elements over 160"] = (m => SetDims(m, Word, 1L << 20, 1L << 20),
            [Word, "declares 1099511627776 elements", "raw_data holds 640 bytes"]),
        ["intermediate bias declares 2^40 elements"] = (m => SetDims(m, Layer0("intermediate.dense.bias"), 1L << 40),
            [Layer0("intermediate.dense.bias"), "declares 1099511627776 elements"]),
        ["query bias declares 2^40 elements"] = (m => SetDims(m, Layer0("attention.self.query.bias"), 1L << 40),
            [Layer0("attention.self.query.bias"), "1099511627776"]),
        ["word embeddings dims overflow a long"] = (m => SetDims(m, Word, 1L << 32, 1L << 32),
            [Word, "overflows"]),
        ["position embeddings dims overflow a long"] = (m => SetDims(m, Position, long.MaxValue, 2),
            [Position, "overflows"]),
        ["negative dimension"] = (m => SetDims(m, Position, -12, -8),
            [Position, "negative"]),
        ["zero-row vocabulary without data"] = (m => { SetDims(m, Word, 0, 8); ModelSurgery.Tensor(m, Word).RawData = ByteString.Empty; },
            [Word, "at least 1"]),
        ["fewer elements declared than stored"] = (m => SetDims(m, Word, 10, 8),
            [Word, "declares 80 elements", "640 bytes"]),
        ["raw_data length not a multiple of 4"] = (m => Truncate(m, Layer0("attention.self.key.bias"), 31),
            [Layer0("attention.self.key.bias"), "31 bytes"]),
        ["query weight [4, 16] instead of [8, 8]"] = (m => SetDims(m, WeightName(0, 0), 4, 16),
            [WeightName(0, 0), "layer 0 query weight", "expected shape [8, 8], got [4, 16]"]),
        ["intermediate weight transposed"] = (m => SetDims(m, WeightName(0, 4), 16, 8),
            [WeightName(0, 4), "expected shape [8, 16], got [16, 8]"]),
        ["output weight transposed"] = (m => SetDims(m, WeightName(0, 5), 8, 16),
            [WeightName(0, 5), "expected shape [16, 8], got [8, 16]"]),
        ["position embeddings 6 wide instead of 8"] = (m => SetDims(m, Position, 16, 6),
            [Position, "expected shape [16, 8], got [16, 6]"]),
        ["embedding LayerNorm γ as a matrix"] = (m => SetDims(m, Model.Name("embeddings.LayerNorm.weight"), 2, 4),
            [Model.Name("embeddings.LayerNorm.weight"), "expected shape [8], got [2, 4]"]),
        ["word embeddings a vector"] = (m => SetDims(m, Word, 160),
            [Word, "expected a matrix"]),
        ["query weight stored as DOUBLE"] = (m => ModelSurgery.Tensor(m, WeightName(0, 0)).DataType = (int)DataType.Double,
            [WeightName(0, 0), "expected element type Float, got Double"]),
        ["element type 99"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).DataType = 99,
            [Layer0("output.dense.bias"), "unknown type 99"]),
        ["data stored externally"] = (m => ModelSurgery.Tensor(m, Word).DataLocation = TensorProto.Types.DataLocation.External,
            [Word, "external data"]),
        ["tensor split in segments"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).Segment = new TensorProto.Types.Segment { Begin = 0, End = 4 },
            [Layer0("output.dense.bias"), "segments"]),
        ["both raw_data and float_data"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).FloatData.Add(1f),
            [Layer0("output.dense.bias"), "both raw_data and a typed data field"]),
        ["no data at all"] = (m => ModelSurgery.Tensor(m, Layer0("output.dense.bias")).ClearRawData(),
            [Layer0("output.dense.bias"), "no data field is set"]),
        ["LayerNorm ε stored as INT64"] = (m => Epsilon(m).DataType = (int)DataType.Int64,
            ["embedding LayerNorm", "constant float ε"]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Invalid_tensor_is_rejected_naming_it(string name)
    {
        (Action<ModelProto> mutate, string[] message) = Cases[name];

        InvalidDataException error = await LoadAttempt.RejectsAsync(Model.Mutated(mutate));

        foreach (string part in message)
            Assert.Contains(part, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Float_data_shorter_than_the_shape_is_rejected()
    {
        string bias = FloatDataModel.Name("encoder.layer.0.attention.self.value.bias");

        InvalidDataException error = await LoadAttempt.RejectsAsync(FloatDataModel.Mutated(m => ModelSurgery.Tensor(m, bias).FloatData.RemoveAt(0)));

        Assert.Contains($"tensor '{bias}' (layer 0 value bias): shape [8] declares 8 elements, but float_data holds 7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Float_data_declaring_2_to_the_40_elements_is_rejected()
    {
        string word = FloatDataModel.Name("embeddings.word_embeddings.weight");

        InvalidDataException error = await LoadAttempt.RejectsAsync(FloatDataModel.Mutated(m => SetDims(m, word, 1L << 20, 1L << 20)));

        Assert.Contains("declares 1099511627776 elements, but float_data holds 160", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The hardening requirement behind "check before allocating": a tensor declaring 2^40 floats (4 TiB) costs the
    /// loader no more than parsing the few-KB file does.
    /// </summary>
    [Fact]
    public void Tensor_declaring_2_to_the_40_elements_allocates_nothing_for_it()
    {
        byte[] hostile = Model.Mutated(m => SetDims(m, Word, 1L << 20, 1L << 20));
        // Warm up: JIT, static parsers and exception machinery allocate on first use.
        Assert.Throws<InvalidDataException>(() => OnnxBertLoader.Load(new MemoryStream(hostile)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => OnnxBertLoader.Load(new MemoryStream(hostile)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The file's bytes, their parsed copy and the graph's lookups: a small multiple of the file, far below 4 TiB.
        Assert.True(allocated < 20L * hostile.Length + (256 << 10), $"allocated {allocated} bytes loading a {hostile.Length}-byte model");
    }

    private static string WeightName(int layer, int index) => Model.WeightNames[layer][index];

    private static void SetDims(ModelProto model, string name, params long[] dims)
    {
        TensorProto tensor = ModelSurgery.Tensor(model, name);
        tensor.Dims.Clear();
        tensor.Dims.AddRange(dims);
    }

    private static void Truncate(ModelProto model, string name, int bytes)
    {
        TensorProto tensor = ModelSurgery.Tensor(model, name);
        tensor.RawData = ByteString.CopyFrom(tensor.RawData.Span[..bytes]);
    }

    /// <summary>The ε of the embedding LayerNorm: Mul(Div(d, Sqrt(Add(variance, ε))), γ), ε a Constant node.</summary>
    private static TensorProto Epsilon(ModelProto model)
    {
        NodeProto scale = ModelSurgery.User(model, Model.Name("embeddings.LayerNorm.weight"));
        NodeProto divide = ModelSurgery.Producer(model, scale.Input[0]);
        NodeProto sqrt = ModelSurgery.Producer(model, divide.Input[1]);
        NodeProto add = ModelSurgery.Producer(model, sqrt.Input[0]);
        return ModelSurgery.Producer(model, add.Input[1]).Attribute[0].T;
    }
}
