using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Scheduling;

using FixedShapeAttention.Kernels;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention;

/// <summary>
/// Attention, feed-forward and projection kernels for a shape known only at run time, with the contract of the
/// generated kernels (layouts, masking, validation, parallelism); the generated ones are faster because every bound
/// is constant.
/// </summary>
/// <remarks>
/// Same numerics, bit for bit: on the same vector width (Vector512, Vector256, Vector128 or scalar, chosen the same way), each
/// output is computed by the same operations in the same order as by the generated kernel of the same shape. Both
/// read the register tiles and vector lanes of each product from one table, accumulate every output in k order by one
/// multiply-add chain, share the exp, max and activation operators, apply the softmax of one contract (exp weights
/// summed in float blocks and double, then 1/Σ on P·V's output rows) and run the smooth activations as the same pass.
/// Only the scheduling differs, which changes no bits (the partition is fixed by the shape, not by threads).
/// </remarks>
public static class GenericKernels
{
    /// <summary>Per head, <c>softmax(Q·Kᵀ/√HeadDim)·V</c>; see <see cref="ITransformerKernels.Attention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> for the layout.</summary>
    /// <exception cref="ArgumentException">A span length does not fit <paramref name="shape"/>, or the output overlaps an input.</exception>
    public static void Attention(TransformerShape shape, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output) =>
        Attention(shape, q, k, v, output, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Attention(TransformerShape, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only.</param>
    public static void Attention(TransformerShape shape, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int maxDegreeOfParallelism)
    {
        CheckShape(shape);
        int batch = KernelArguments.ValidateAttention(q, k, v, output, shape.SequenceLength, shape.EmbeddingDim);
        RunAttention(shape, batch, q, k, v, default, output, maxDegreeOfParallelism);
    }

    /// <summary>
    /// Attention with a key-padding mask: sequence <c>i</c> of the batch attends to its first <c>keyCounts[i]</c> keys
    /// only (the later ones get weight exactly 0, as an additive −∞ mask would give); see
    /// <see cref="ITransformerKernels.Attention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span length does not fit <paramref name="shape"/>, a count is outside [0, SequenceLength], or the output overlaps an input.</exception>
    public static void Attention(TransformerShape shape, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output) =>
        Attention(shape, q, k, v, keyCounts, output, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Attention(TransformerShape, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only.</param>
    public static void Attention(TransformerShape shape, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, int maxDegreeOfParallelism)
    {
        CheckShape(shape);
        int batch = KernelArguments.ValidateMaskedAttention(q, k, v, keyCounts, output, shape.SequenceLength, shape.EmbeddingDim);
        RunAttention(shape, batch, q, k, v, keyCounts, output, maxDegreeOfParallelism);
    }

    private static void RunAttention(
        TransformerShape shape, int batch, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, int maxDegreeOfParallelism)
    {
        int chunksPerHead = ChunkSizing.AttentionChunksPerHead(shape.SequenceLength, shape.Heads);
        int chunks = batch * shape.Heads * chunksPerHead;
        long flops = batch * shape.Heads * ChunkSizing.AttentionFlopsPerHead(shape.SequenceLength, shape.HeadDim);

        if (Vector512.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericAttentionKernel<Vector512<float>, Vector512Ops>(shape, chunksPerHead), chunks, flops, maxDegreeOfParallelism, q, k, v, default, default, output, keyCounts);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericAttentionKernel<Vector256<float>, Vector256Ops>(shape, chunksPerHead), chunks, flops, maxDegreeOfParallelism, q, k, v, default, default, output, keyCounts);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericAttentionKernel<Vector128<float>, Vector128Ops>(shape, chunksPerHead), chunks, flops, maxDegreeOfParallelism, q, k, v, default, default, output, keyCounts);
        }
        else
        {
            ParallelRunner.Run(new GenericAttentionKernel<float, ScalarOps>(shape, chunksPerHead), chunks, flops, maxDegreeOfParallelism, q, k, v, default, default, output, keyCounts);
        }
    }

    /// <summary><c>y = x·W + b</c> with W <c>[EmbeddingDim, EmbeddingDim]</c>; see <see cref="ITransformerKernels.Project(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>.</summary>
    /// <exception cref="ArgumentException">A span length does not fit <paramref name="shape"/>, or <paramref name="y"/> overlaps an input.</exception>
    public static void Project(TransformerShape shape, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y) =>
        Project(shape, x, w, b, y, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="Project(TransformerShape, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only.</param>
    public static void Project(TransformerShape shape, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int maxDegreeOfParallelism)
    {
        CheckShape(shape);
        int batch = KernelArguments.ValidateProjection(x, w, b, y, shape.SequenceLength, shape.EmbeddingDim);
        int chunksPerSequence = ChunkSizing.ProjectionChunksPerSequence(shape.SequenceLength);
        int chunks = batch * chunksPerSequence;
        long flops = batch * ChunkSizing.ProjectionFlopsPerSequence(shape.SequenceLength, shape.EmbeddingDim);

        if (Vector512.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericProjectionKernel<Vector512<float>, Vector512Ops>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w, b, default, default, y);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericProjectionKernel<Vector256<float>, Vector256Ops>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w, b, default, default, y);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericProjectionKernel<Vector128<float>, Vector128Ops>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w, b, default, default, y);
        }
        else
        {
            ParallelRunner.Run(new GenericProjectionKernel<float, ScalarOps>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w, b, default, default, y);
        }
    }

    /// <summary><c>y = act(x·W1 + b1)·W2 + b2</c>; see <see cref="ITransformerKernels.FeedForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> for the layout.</summary>
    /// <exception cref="ArgumentException">A span length does not fit <paramref name="shape"/>, or <paramref name="y"/> overlaps an input.</exception>
    public static void FeedForward(TransformerShape shape, ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y) =>
        FeedForward(shape, x, w1, b1, w2, b2, y, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc cref="FeedForward(TransformerShape, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only.</param>
    public static void FeedForward(TransformerShape shape, ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y, int maxDegreeOfParallelism)
    {
        CheckShape(shape);
        int batch = KernelArguments.ValidateFeedForward(x, w1, b1, w2, b2, y, shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim);
        int chunksPerSequence = ChunkSizing.FeedForwardChunksPerSequence(shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim);
        int chunks = batch * chunksPerSequence;
        long flops = batch * ChunkSizing.FeedForwardFlopsPerSequence(shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim);

        switch (shape.Activation)
        {
            case Activation.Relu: FeedForward<ReluOperator>(shape, chunksPerSequence, chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y); break;
            case Activation.Gelu: FeedForward<GeluOperator>(shape, chunksPerSequence, chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y); break;
            case Activation.GeluTanh: FeedForward<GeluTanhOperator>(shape, chunksPerSequence, chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y); break;
            default: FeedForward<SiluOperator>(shape, chunksPerSequence, chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y); break;
        }
    }

    private static void FeedForward<TActivation>(
        TransformerShape shape, int chunksPerSequence, int chunks, long flops, int maxDegreeOfParallelism,
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y)
        where TActivation : IActivationOperator
    {
        if (Vector512.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericFeedForwardKernel<Vector512<float>, Vector512Ops, TActivation>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericFeedForwardKernel<Vector256<float>, Vector256Ops, TActivation>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new GenericFeedForwardKernel<Vector128<float>, Vector128Ops, TActivation>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y);
        }
        else
        {
            ParallelRunner.Run(new GenericFeedForwardKernel<float, ScalarOps, TActivation>(shape, chunksPerSequence), chunks, flops, maxDegreeOfParallelism, x, w1, b1, w2, b2, y);
        }
    }

    private static void CheckShape(TransformerShape shape)
    {
        if (shape.SequenceLength == 0)
        {
            throw new ArgumentException("shape: the default TransformerShape has no dimensions; construct one with its constructor.", nameof(shape));
        }
    }
}
