using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using static FixedShapeAttention.Tests.SentinelBuffers;

namespace FixedShapeAttention.Tests;

/// <summary>
/// The rejected-input catalogue, completing <see cref="ValidationTests"/> (which has the wrong lengths of every
/// parameter, q and x not whole sequences, all-empty attention, and one overlap per kernel): an empty span in each
/// parameter position alone, and the output overlapping each input of both kernels, for the generated and the
/// generic engine. Every rejected call must throw ArgumentException naming the parameter and write nothing.
/// </summary>
public class InputRejectionTests
{
    // A small shape with odd sizes: every length differs (q 91, w1 377, b1 29, b2 13), so a check that compared the
    // wrong pair of lengths would be caught.
    private const string ShapeName = nameof(Odd);

    private static readonly string[] s_engines = { "Generated", "Generic" };
    private static readonly string[] s_attentionParameters = { "q", "k", "v", "output" };
    private static readonly string[] s_feedForwardParameters = { "x", "w1", "b1", "w2", "b2", "y" };

    private static Engine Engine(string name) => Engines.Get(ShapeName, name);

    /// <summary>The length each parameter must have for one sequence of the shape.</summary>
    private static int LengthOf(string parameter)
    {
        TransformerShape shape = Engines.ShapeOf(ShapeName);
        return parameter switch
        {
            "w1" or "w2" => shape.EmbeddingDim * shape.FfnDim,
            "b1" => shape.FfnDim,
            "b2" => shape.EmbeddingDim,
            _ => shape.SequenceElements,
        };
    }

    public static TheoryData<string, string> EmptyAttentionSpans() => Cross(s_attentionParameters);

    // b2 empty is ValidationTests' wrong-length case with length 0.
    public static TheoryData<string, string> EmptyFeedForwardSpans() => Cross(s_feedForwardParameters.Where(p => p != "b2"));

    [Theory]
    [MemberData(nameof(EmptyAttentionSpans))]
    public void Attention_rejects_one_empty_span(string engine, string empty)
    {
        float[] Make(string name) => Filled(name == empty ? 0 : LengthOf(name));
        float[] q = Make("q"), k = Make("k"), v = Make("v"), output = Make("output");

        var error = Assert.Throws<ArgumentException>(() => Engine(engine).Attention(q, k, v, output, -1));

        Assert.Equal(empty, error.ParamName);
        Assert.Contains("got 0", error.Message);
        AssertUntouched(output);
    }

    [Theory]
    [MemberData(nameof(EmptyFeedForwardSpans))]
    public void FeedForward_rejects_one_empty_span(string engine, string empty)
    {
        float[] Make(string name) => Filled(name == empty ? 0 : LengthOf(name));
        float[] x = Make("x"), w1 = Make("w1"), b1 = Make("b1"), w2 = Make("w2"), b2 = Make("b2"), y = Make("y");

        var error = Assert.Throws<ArgumentException>(() => Engine(engine).FeedForward(x, w1, b1, w2, b2, y, -1));

        Assert.Equal(empty, error.ParamName);
        Assert.Contains("got 0", error.Message);
        AssertUntouched(y);
    }

    /// <summary>How the output shares memory with one input.</summary>
    public enum Overlap
    {
        /// <summary>The output's first element is the input's last: the smallest overlap there is.</summary>
        SharesOneElement,

        /// <summary>Both start at the same address (for q, k, v and x: the very same span, an in-place call).</summary>
        SameStart,
    }

    public static TheoryData<string, string, Overlap> AttentionOverlaps() => Cross(new[] { "q", "k", "v" }, Enum.GetValues<Overlap>());

    // y starting where w1 starts is ValidationTests' overlap case.
    public static TheoryData<string, string, Overlap> FeedForwardOverlaps() =>
        Cross(new[] { "x", "w1", "b1", "w2", "b2" }, Enum.GetValues<Overlap>(), skip: ("w1", Overlap.SameStart));

    [Theory]
    [MemberData(nameof(AttentionOverlaps))]
    public void Attention_rejects_an_output_overlapping_an_input(string engine, string input, Overlap overlap)
    {
        var (memory, inputSpan, outputSpan) = Overlapping(LengthOf(input), LengthOf("output"), overlap);
        ReadOnlySpan<float> Pick(string name) => name == input ? inputSpan.Span : Filled(LengthOf(name));

        var error = Assert.Throws<ArgumentException>(() => Engine(engine).Attention(Pick("q"), Pick("k"), Pick("v"), outputSpan.Span, -1));

        Assert.Equal("output", error.ParamName);
        Assert.Contains($"output overlaps {input}", error.Message);
        AssertUntouched(memory);
    }

    [Theory]
    [MemberData(nameof(FeedForwardOverlaps))]
    public void FeedForward_rejects_an_output_overlapping_an_input(string engine, string input, Overlap overlap)
    {
        var (memory, inputSpan, outputSpan) = Overlapping(LengthOf(input), LengthOf("y"), overlap);
        ReadOnlySpan<float> Pick(string name) => name == input ? inputSpan.Span : Filled(LengthOf(name));

        var error = Assert.Throws<ArgumentException>(() =>
            Engine(engine).FeedForward(Pick("x"), Pick("w1"), Pick("b1"), Pick("w2"), Pick("b2"), outputSpan.Span, -1));

        Assert.Equal("y", error.ParamName);
        Assert.Contains($"y overlaps {input}", error.Message);
        AssertUntouched(memory);
    }

    /// <summary>One sentinel-filled array holding an input of <paramref name="inputLength"/> and an output overlapping it.</summary>
    private static (float[] Memory, Memory<float> Input, Memory<float> Output) Overlapping(int inputLength, int outputLength, Overlap overlap)
    {
        if (overlap == Overlap.SameStart)
        {
            float[] shared = Filled(Math.Max(inputLength, outputLength));
            return (shared, shared.AsMemory(0, inputLength), shared.AsMemory(0, outputLength));
        }

        float[] memory = Filled(inputLength + outputLength - 1);
        return (memory, memory.AsMemory(0, inputLength), memory.AsMemory(inputLength - 1, outputLength));
    }

    private static TheoryData<string, string> Cross(IEnumerable<string> parameters)
    {
        var data = new TheoryData<string, string>();
        foreach (string engine in s_engines)
        {
            foreach (string parameter in parameters)
            {
                data.Add(engine, parameter);
            }
        }

        return data;
    }

    private static TheoryData<string, string, Overlap> Cross(string[] inputs, Overlap[] overlaps, (string, Overlap)? skip = null)
    {
        var data = new TheoryData<string, string, Overlap>();
        foreach (string engine in s_engines)
        {
            foreach (string input in inputs)
            {
                foreach (Overlap overlap in overlaps.Where(o => (input, o) != skip))
                {
                    data.Add(engine, input, overlap);
                }
            }
        }

        return data;
    }
}
