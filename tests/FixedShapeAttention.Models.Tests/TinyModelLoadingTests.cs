using System.Collections.Generic;
using System.IO;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>The tiny generated model loads, in every form an exporter may write it, with exactly the weights written.</summary>
public sealed class TinyModelLoadingTests
{
    public static TheoryData<string, TinyBertOptions> Variants => new()
    {
        { "as all-MiniLM-L6-v2 is exported", new TinyBertOptions() },
        { "floats in float_data", new TinyBertOptions { FloatData = true } },
        { "fused LayerNormalization nodes", new TinyBertOptions { FusedLayerNorm = true } },
        { "parameter names prefixed 'bert.'", new TinyBertOptions { Prefix = "bert." } },
        { "constant Reshape shapes", new TinyBertOptions { ConstantReshapeShape = true } },
        { "GELU as Mul(x, 1/√2) with the 0.5 first", new TinyBertOptions { Gelu = GeluForm.ErfMultiplied } },
        { "a fused opset-20 Gelu node", new TinyBertOptions { Gelu = GeluForm.Fused } },
        { "three layers", new TinyBertOptions { Layers = 3 } },
        { "LayerNorm ε 1e-5", new TinyBertOptions { Epsilon = 1e-5f } },
        { "Reshape to [-1, headDim]", new TinyBertOptions { ReshapeHeads = (-1, TinyBertModel.HeadDim) } },
        { "Reshape to [heads, -1]", new TinyBertOptions { ReshapeHeads = (TinyBertModel.Heads, -1) } },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Tiny_model_loads_with_the_weights_written(string variant, TinyBertOptions options)
    {
        _ = variant;
        var model = new TinyBertModel(options);

        BertWeights weights = OnnxBertLoader.Load(new MemoryStream(model.ToBytes()));

        var expected = new BertConfig(TinyBertModel.Vocab, TinyBertModel.Hidden, options.Layers, TinyBertModel.Heads, TinyBertModel.Ffn,
            TinyBertModel.MaxPositions, TinyBertModel.Types, options.Epsilon);
        Assert.Equal(expected, weights.Config);
        WeightAssert.LengthsMatchConfig(weights);
        WeightAssert.MatchesWritten(model, weights);
    }

    [Fact]
    public void Load_from_a_file_path_reads_the_same_weights()
    {
        var model = new TinyBertModel();
        string path = Path.Combine(Path.GetTempPath(), $"fsa-tiny-{System.Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model.ToBytes());
        try
        {
            WeightAssert.MatchesWritten(model, OnnxBertLoader.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_reads_a_stream_that_cannot_seek()
    {
        var model = new TinyBertModel();

        BertWeights weights = OnnxBertLoader.Load(new ForwardOnlyStream(model.ToBytes()));

        WeightAssert.MatchesWritten(model, weights);
    }

    [Fact]
    public void Load_reads_from_the_current_position_of_the_stream()
    {
        var model = new TinyBertModel();
        byte[] bytes = model.ToBytes();
        var stream = new MemoryStream();
        stream.Write([1, 2, 3]);
        stream.Write(bytes);
        stream.Position = 3;

        WeightAssert.MatchesWritten(model, OnnxBertLoader.Load(stream));
    }

    [Fact]
    public void Missing_file_throws_FileNotFoundException_not_a_model_error()
    {
        Assert.Throws<FileNotFoundException>(() => OnnxBertLoader.Load(Path.Combine(Path.GetTempPath(), "fsa-no-such-model.onnx")));
    }

    [Fact]
    public void Null_arguments_throw_ArgumentNullException()
    {
        Assert.Throws<System.ArgumentNullException>(() => OnnxBertLoader.Load((Stream)null!));
        Assert.Throws<System.ArgumentNullException>(() => OnnxBertLoader.Load((string)null!));
    }

    /// <summary>The loaded arrays are the caller's: two loads share nothing.</summary>
    [Fact]
    public void Each_load_returns_fresh_arrays()
    {
        byte[] bytes = new TinyBertModel().ToBytes();
        BertWeights first = OnnxBertLoader.Load(new MemoryStream(bytes));
        BertWeights second = OnnxBertLoader.Load(new MemoryStream(bytes));

        var arrays = new HashSet<float[]>(System.Collections.Generic.ReferenceEqualityComparer.Instance)
        {
            first.WordEmbeddings, first.Layers[0].QueryWeight,
        };
        Assert.DoesNotContain(second.WordEmbeddings, arrays);
        Assert.DoesNotContain(second.Layers[0].QueryWeight, arrays);
    }
}
