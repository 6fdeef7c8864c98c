using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention;

namespace FixedShapeAttention.Tests;

internal delegate void AttentionKernel(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int maxDegreeOfParallelism);

internal delegate void FeedForwardKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y, int maxDegreeOfParallelism);

internal delegate void MaskedAttentionKernel(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, int maxDegreeOfParallelism);

internal delegate void ProjectionKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int maxDegreeOfParallelism);

internal delegate void PackedProjectionKernel(ReadOnlySpan<float> x, PackedProjectionWeights weights, Span<float> y, int maxDegreeOfParallelism);

internal delegate void PackedFeedForwardKernel(ReadOnlySpan<float> x, PackedFeedForwardWeights weights, Span<float> y, int maxDegreeOfParallelism);

/// <summary>One way of running a shape's kernels: the generated class, or the generic kernels given its runtime shape.</summary>
internal sealed record Engine(string Name, TransformerShape Shape, AttentionKernel Attention, FeedForwardKernel FeedForward)
{
    public override string ToString() => Name;
}

/// <summary>The shapes under test, each through both engines, so one theory covers every implementation.</summary>
internal static class Engines
{
    private static readonly Dictionary<string, TransformerShape> s_shapes = new();
    private static readonly Dictionary<string, Engine> s_engines = new();

    static Engines()
    {
        Add<WorkedExample>();
        Add<Tiny>();
        Add<Odd>();
        Add<ThreeHeads>();
        Add<HeadDimOne>();
        Add<CausalGelu>();
        Add<CausalSilu>();
        Add<GeluTanhShape>();
        Add<Medium>();
        Add<MiniLm>();
        Add<BertBase>();
        Add<LongCausal>();
        Add<ColumnSplitTail>();
    }

    private static readonly Dictionary<string, Func<float[], float[], float[], float[], PackedFeedForwardWeights>> s_packers = new();
    private static readonly Dictionary<string, PackedFeedForwardKernel> s_packedKernels = new();

    private static readonly Dictionary<string, MaskedAttentionKernel> s_maskedAttention = new();
    private static readonly Dictionary<string, ProjectionKernel> s_projections = new();
    private static readonly Dictionary<string, Func<float[], float[], PackedProjectionWeights>> s_projectionPackers = new();
    private static readonly Dictionary<string, PackedProjectionKernel> s_packedProjections = new();

    public static IEnumerable<string> ShapeNames => s_shapes.Keys;

    /// <summary>The masked Attention overload of an engine ("Generated" or "Generic").</summary>
    public static MaskedAttentionKernel MaskedAttention(string shapeName, string engine) => s_maskedAttention[$"{shapeName}/{engine}"];

    /// <summary>The raw-span Project of an engine ("Generated" or "Generic").</summary>
    public static ProjectionKernel Projection(string shapeName, string engine) => s_projections[$"{shapeName}/{engine}"];

    /// <summary>The generated PackProjection of a shape.</summary>
    public static PackedProjectionWeights PackProjection(string shapeName, float[] w, float[] b) => s_projectionPackers[shapeName](w, b);

    /// <summary>The generated Project(x, weights, y, dop) of a shape.</summary>
    public static PackedProjectionKernel PackedProjection(string shapeName) => s_packedProjections[shapeName];

    /// <summary>The generated PackFeedForward of a shape.</summary>
    public static PackedFeedForwardWeights Pack(string shapeName, float[] w1, float[] b1, float[] w2, float[] b2) => s_packers[shapeName](w1, b1, w2, b2);

    /// <summary>The generated FeedForward(x, weights, y, dop) of a shape.</summary>
    public static PackedFeedForwardKernel PackedFeedForward(string shapeName) => s_packedKernels[shapeName];

    public static TransformerShape ShapeOf(string shapeName) => s_shapes[shapeName];

    /// <summary>The engine "Generated" or "Generic" for a shape name.</summary>
    public static Engine Get(string shapeName, string engine) => s_engines[$"{shapeName}/{engine}"];

    /// <summary>Shapes small enough to run at batch 3 in every ISA pass without slowing the suite.</summary>
    public static bool IsSmall(string shapeName) => ShapeOf(shapeName).SequenceLength * (long)ShapeOf(shapeName).EmbeddingDim * ShapeOf(shapeName).FfnDim <= 1_000_000;

    private static void Add<T>()
        where T : ITransformerKernels
    {
        string name = typeof(T).Name;
        TransformerShape shape = T.Shape;
        s_shapes[name] = shape;
        s_packers[name] = (w1, b1, w2, b2) => T.PackFeedForward(w1, b1, w2, b2);
        s_packedKernels[name] = (x, weights, y, dop) => T.FeedForward(x, weights, y, dop);
        s_maskedAttention[$"{name}/Generated"] = (q, k, v, counts, o, dop) => T.Attention(q, k, v, counts, o, dop);
        s_maskedAttention[$"{name}/Generic"] = (q, k, v, counts, o, dop) => GenericKernels.Attention(shape, q, k, v, counts, o, dop);
        s_projections[$"{name}/Generated"] = (x, w, b, y, dop) => T.Project(x, w, b, y, dop);
        s_projections[$"{name}/Generic"] = (x, w, b, y, dop) => GenericKernels.Project(shape, x, w, b, y, dop);
        s_projectionPackers[name] = (w, b) => T.PackProjection(w, b);
        s_packedProjections[name] = (x, weights, y, dop) => T.Project(x, weights, y, dop);
        s_engines[$"{name}/Generated"] = new Engine(
            $"{name}/Generated",
            shape,
            (q, k, v, o, dop) => T.Attention(q, k, v, o, dop),
            (x, w1, b1, w2, b2, y, dop) => T.FeedForward(x, w1, b1, w2, b2, y, dop));
        s_engines[$"{name}/Generic"] = new Engine(
            $"{name}/Generic",
            shape,
            (q, k, v, o, dop) => GenericKernels.Attention(shape, q, k, v, o, dop),
            (x, w1, b1, w2, b2, y, dop) => GenericKernels.FeedForward(shape, x, w1, b1, w2, b2, y, dop));
    }
}
