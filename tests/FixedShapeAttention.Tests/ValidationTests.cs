using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;
using static FixedShapeAttention.Tests.SentinelBuffers;

namespace FixedShapeAttention.Tests;

/// <summary>Wrong lengths and overlaps throw ArgumentException naming sizes, before anything is written.</summary>
public class ValidationTests
{
    private static readonly TransformerShape s_shape = MiniLm.Shape;
    private const int Sequence = 128 * 384;

    public static TheoryData<string> Engines2() => new() { "Generated", "Generic" };

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Attention_rejects_a_length_that_is_not_whole_sequences(string engine)
    {
        var q = new float[Sequence - 1];
        var output = Filled(Sequence - 1);
        var error = Assert.Throws<ArgumentException>(() => Engines.Get(nameof(MiniLm), engine).Attention(q, q.ToArray(), q.ToArray(), output, -1));
        Assert.Equal("q", error.ParamName);
        Assert.Contains("expected a multiple of 49152 = 128×384, got 49151", error.Message);
        AssertUntouched(output);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Attention_rejects_empty_input(string engine)
    {
        var output = Filled(0);
        var error = Assert.Throws<ArgumentException>(() => Engines.Get(nameof(MiniLm), engine).Attention(default, default, default, output, -1));
        Assert.Contains("got 0 (empty)", error.Message);
    }

    [Theory]
    [InlineData("Generated", "k")]
    [InlineData("Generated", "v")]
    [InlineData("Generated", "output")]
    [InlineData("Generic", "k")]
    [InlineData("Generic", "v")]
    [InlineData("Generic", "output")]
    public void Attention_rejects_a_span_whose_length_differs_from_q(string engine, string wrong)
    {
        float[] Make(string name) => name == wrong ? Filled(2 * Sequence) : Filled(Sequence);
        float[] q = Make("q"), k = Make("k"), v = Make("v"), output = Make("output");
        var error = Assert.Throws<ArgumentException>(() => Engines.Get(nameof(MiniLm), engine).Attention(q, k, v, output, -1));
        Assert.Equal(wrong, error.ParamName);
        Assert.Contains($"expected {Sequence} (the length of q), got {2 * Sequence}", error.Message);
        AssertUntouched(output);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Attention_rejects_an_output_that_overlaps_an_input(string engine)
    {
        var buffer = Filled(2 * Sequence);
        var q = new float[Sequence];
        var error = Assert.Throws<ArgumentException>(() =>
            Engines.Get(nameof(MiniLm), engine).Attention(q, buffer.AsSpan(0, Sequence), q, buffer.AsSpan(Sequence / 2, Sequence), -1));
        Assert.Equal("output", error.ParamName);
        Assert.Contains("overlaps k", error.Message);
        AssertUntouched(buffer);
    }

    [Theory]
    [InlineData("Generated", "w1", 384 * 1536 - 1, "w1: expected 589824 = 384×1536")]
    [InlineData("Generated", "b1", 1535, "b1: expected 1536 = FfnDim")]
    [InlineData("Generated", "w2", 1536 * 384 + 1, "w2: expected 589824 = 1536×384")]
    [InlineData("Generated", "b2", 0, "b2: expected 384 = EmbeddingDim")]
    [InlineData("Generated", "x", Sequence + 384, "x: expected a multiple of 49152 = 128×384")]
    [InlineData("Generated", "y", 2 * Sequence, "y: expected 49152 (the length of x)")]
    [InlineData("Generic", "w1", 384 * 1536 - 1, "w1: expected 589824 = 384×1536")]
    [InlineData("Generic", "b1", 1535, "b1: expected 1536 = FfnDim")]
    [InlineData("Generic", "w2", 1536 * 384 + 1, "w2: expected 589824 = 1536×384")]
    [InlineData("Generic", "b2", 0, "b2: expected 384 = EmbeddingDim")]
    [InlineData("Generic", "x", Sequence + 384, "x: expected a multiple of 49152 = 128×384")]
    [InlineData("Generic", "y", 2 * Sequence, "y: expected 49152 (the length of x)")]
    public void FeedForward_rejects_each_wrong_length_before_writing(string engine, string wrong, int length, string message)
    {
        float[] Make(string name, int correct) => name == wrong ? Filled(length) : Filled(correct);
        float[] x = Make("x", Sequence), w1 = Make("w1", 384 * 1536), b1 = Make("b1", 1536), w2 = Make("w2", 1536 * 384), b2 = Make("b2", 384), y = Make("y", Sequence);
        var error = Assert.Throws<ArgumentException>(() => Engines.Get(nameof(MiniLm), engine).FeedForward(x, w1, b1, w2, b2, y, -1));
        Assert.Equal(wrong, error.ParamName);
        Assert.Contains(message, error.Message);
        Assert.Contains($"got {length}", error.Message);
        AssertUntouched(y);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void FeedForward_rejects_an_output_that_overlaps_the_weights(string engine)
    {
        var w1 = Filled(384 * 1536);
        var error = Assert.Throws<ArgumentException>(() =>
            Engines.Get(nameof(MiniLm), engine).FeedForward(new float[Sequence], w1, new float[1536], new float[1536 * 384], new float[384], w1.AsSpan(0, Sequence), -1));
        Assert.Equal("y", error.ParamName);
        Assert.Contains("overlaps w1", error.Message);
        AssertUntouched(w1);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void An_invalid_degree_of_parallelism_throws_before_writing(string engine)
    {
        var q = new float[Sequence];
        var output = Filled(Sequence);
        Assert.Throws<ArgumentOutOfRangeException>(() => Engines.Get(nameof(MiniLm), engine).Attention(q, q, q, output, 0));
        AssertUntouched(output);
    }

    [Fact]
    public void TransformerShape_enforces_the_generator_rules()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(0, 384, 1536));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(128, 384, 1536, heads: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(8193, 384, 1536));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(128, 384, 1536, activation: (Activation)42));
        Assert.Throws<ArgumentException>(() => GenericKernels.Attention(default, new float[1], new float[1], new float[1], new float[1]));
    }
}
