using System;
using System.Buffers;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using FixedShapeAttention;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The engine a user would write with <see cref="TensorPrimitives"/> and no kernel library: one row at a time, each
/// step one TensorPrimitives call over a contiguous span in the layouts the kernels take (no repacking, no tiling).
/// Attention: per query row and head, a Dot per key, then scale, subtract the row maximum (TensorPrimitives.SoftMax
/// does not, so it is done here), Exp, Sum, and P·V as one FusedMultiplyAdd of a value row per key. Feed-forward: per
/// row, h = b1 plus one FusedMultiplyAdd of a W1 row per input element, ReLU as Max(h, 0), then y = b2 plus one
/// FusedMultiplyAdd of a W2 row per hidden unit.
/// </summary>
/// <remarks>
/// Threads: 1 runs a plain loop over the rows with one preallocated scratch row; more runs <c>Parallel.For</c> over
/// the rows with <c>MaxDegreeOfParallelism</c> and a scratch row per worker from the shared ArrayPool, once the call
/// does at least <see cref="ParallelForThresholdFlops"/> (below that an empty Parallel.For, ~10 µs, costs more than it
/// saves, and a user would measure that too). The library's own threshold is lower because its worker pool is cheaper.
/// </remarks>
public sealed class TensorPrimitivesKernels
{
    private readonly ShapeCase _case;
    private readonly float[] _scratch;
    private readonly float _scale;

    public TensorPrimitivesKernels(ShapeCase shapeCase)
    {
        if (shapeCase.Shape.Activation != Activation.Relu)
        {
            throw new NotSupportedException($"The TensorPrimitives engine implements ReLU only, not {shapeCase.Shape.Activation}.");
        }

        _case = shapeCase;
        _scratch = new float[ScratchLength];
        _scale = 1f / MathF.Sqrt(shapeCase.Shape.HeadDim);
    }

    /// <summary>One scratch row: the scores of a query, or the hidden units of a token.</summary>
    private int ScratchLength => Math.Max(_case.Shape.SequenceLength, _case.Shape.FfnDim);

    /// <summary>softmax(Q·Kᵀ/√HeadDim)·V per head, from the case's Q, K, V into its Output.</summary>
    public void Attention(int threads)
    {
        int rows = _case.Shape.SequenceLength;
        if (Sequential(threads, _case.AttentionFlops))
        {
            for (int i = 0; i < rows; i++)
            {
                AttentionRow(i, _scratch);
            }

            return;
        }

        Parallel.For(
            0,
            rows,
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => ArrayPool<float>.Shared.Rent(ScratchLength),
            (i, _, scores) =>
            {
                AttentionRow(i, scores);
                return scores;
            },
            scores => ArrayPool<float>.Shared.Return(scores));
    }

    /// <summary>ReLU(x·W1 + b1)·W2 + b2, from the case's Q (as x) and weights into its Output.</summary>
    public void FeedForward(int threads)
    {
        int rows = _case.Shape.SequenceLength;
        if (Sequential(threads, _case.FeedForwardFlops))
        {
            for (int i = 0; i < rows; i++)
            {
                FeedForwardRow(i, _scratch);
            }

            return;
        }

        Parallel.For(
            0,
            rows,
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => ArrayPool<float>.Shared.Rent(ScratchLength),
            (i, _, hidden) =>
            {
                FeedForwardRow(i, hidden);
                return hidden;
            },
            hidden => ArrayPool<float>.Shared.Return(hidden));
    }

    /// <summary>4 MFLOP, 15–40 µs of one core: what the library used while its own chunks ran on Parallel.For.</summary>
    public const double ParallelForThresholdFlops = 4_000_000;

    private static bool Sequential(int threads, double flops) =>
        KernelParallelism.Resolve(threads) == 1 || flops < ParallelForThresholdFlops;

    private void AttentionRow(int i, float[] scratch)
    {
        TransformerShape shape = _case.Shape;
        int dim = shape.EmbeddingDim, headDim = shape.HeadDim;
        int keys = shape.Causal ? i + 1 : shape.SequenceLength;
        float[] k = _case.K, v = _case.V;
        Span<float> scores = scratch.AsSpan(0, keys);
        for (int h = 0; h < shape.Heads; h++)
        {
            int column = h * headDim;
            ReadOnlySpan<float> query = _case.Q.AsSpan(i * dim + column, headDim);
            for (int j = 0; j < keys; j++)
            {
                scores[j] = TensorPrimitives.Dot(query, k.AsSpan(j * dim + column, headDim));
            }

            TensorPrimitives.Multiply(scores, _scale, scores);
            TensorPrimitives.Subtract(scores, TensorPrimitives.Max(scores), scores);
            TensorPrimitives.Exp(scores, scores);
            float sum = TensorPrimitives.Sum(scores);

            Span<float> output = _case.Output.AsSpan(i * dim + column, headDim);
            output.Clear();
            for (int j = 0; j < keys; j++)
            {
                TensorPrimitives.FusedMultiplyAdd(v.AsSpan(j * dim + column, headDim), scores[j], output, output);
            }

            TensorPrimitives.Multiply(output, 1f / sum, output);
        }
    }

    private void FeedForwardRow(int i, float[] scratch)
    {
        TransformerShape shape = _case.Shape;
        int dim = shape.EmbeddingDim, ffn = shape.FfnDim;
        float[] w1 = _case.W1, w2 = _case.W2;
        ReadOnlySpan<float> x = _case.Q.AsSpan(i * dim, dim);
        Span<float> hidden = scratch.AsSpan(0, ffn);
        _case.B1.CopyTo(hidden);
        for (int k = 0; k < dim; k++)
        {
            TensorPrimitives.FusedMultiplyAdd(w1.AsSpan(k * ffn, ffn), x[k], hidden, hidden);
        }

        TensorPrimitives.Max(hidden, 0f, hidden);

        Span<float> y = _case.Output.AsSpan(i * dim, dim);
        _case.B2.CopyTo(y);
        for (int k = 0; k < ffn; k++)
        {
            TensorPrimitives.FusedMultiplyAdd(w2.AsSpan(k * dim, dim), hidden[k], y, y);
        }
    }
}
