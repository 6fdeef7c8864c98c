using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Encoder;

/// <summary>
/// Layer normalisation over rows of <c>gamma.Length</c> floats: <c>y = (s − mean(s)) / √(var(s) + ε) · γ + β</c>, with
/// <c>s = x</c> or, for a residual connection, <c>s = x + residual</c>. The variance is the biased one (divided by the
/// row length), as in BERT, GPT and ONNX's LayerNormalization.
/// </summary>
/// <remarks>
/// Mean and variance are computed in two passes with double lane sums. <c>y</c> may be the same span as <c>x</c> or
/// <c>residual</c> (each element is read before it is written), but must not partially overlap either.
/// </remarks>
public static class LayerNormalization
{
    /// <summary><c>y = LayerNorm(x)</c> row by row, on up to <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads.</summary>
    /// <exception cref="ArgumentException">A length is not a whole number of rows, or <paramref name="y"/> partially overlaps <paramref name="x"/>.</exception>
    public static void Normalize(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y) =>
        Normalize(x, gamma, beta, epsilon, y, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary><c>y = LayerNorm(x)</c> row by row.</summary>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    /// <exception cref="ArgumentException">A length is not a whole number of rows, or <paramref name="y"/> partially overlaps <paramref name="x"/>.</exception>
    public static void Normalize(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, int maxDegreeOfParallelism) =>
        Run(x, default, gamma, beta, epsilon, y, maxDegreeOfParallelism, addResidual: false);

    /// <summary><c>y = LayerNorm(x + residual)</c> row by row, on up to <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads:
    /// the residual connection of a post-norm (BERT) block.</summary>
    /// <exception cref="ArgumentException">A length is not a whole number of rows, the lengths differ, or <paramref name="y"/> partially overlaps an input.</exception>
    public static void AddAndNormalize(ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y) =>
        AddAndNormalize(x, residual, gamma, beta, epsilon, y, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary><c>y = LayerNorm(x + residual)</c> row by row: the residual connection of a post-norm (BERT) block.</summary>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    /// <exception cref="ArgumentException">A length is not a whole number of rows, the lengths differ, or <paramref name="y"/> partially overlaps an input.</exception>
    public static void AddAndNormalize(
        ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, int maxDegreeOfParallelism) =>
        Run(x, residual, gamma, beta, epsilon, y, maxDegreeOfParallelism, addResidual: true);

    private static void Run(
        ReadOnlySpan<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y,
        int maxDegreeOfParallelism, bool addResidual)
    {
        int n = gamma.Length;
        if (n == 0)
        {
            throw new ArgumentException("gamma: expected the row length (at least 1), got an empty span.", nameof(gamma));
        }

        if (beta.Length != n)
        {
            throw new ArgumentException($"beta: expected {n} (the length of gamma), got {beta.Length}.", nameof(beta));
        }

        if (x.Length == 0 || x.Length % n != 0)
        {
            throw new ArgumentException($"x: expected a positive multiple of {n} (the row length, gamma.Length), got {x.Length}.", nameof(x));
        }

        if (y.Length != x.Length)
        {
            throw new ArgumentException($"y: expected {x.Length} (the length of x), got {y.Length}.", nameof(y));
        }

        if (addResidual && residual.Length != x.Length)
        {
            throw new ArgumentException($"residual: expected {x.Length} (the length of x), got {residual.Length}.", nameof(residual));
        }

        if (!(epsilon >= 0) || float.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon: expected a finite value ≥ 0.");
        }

        PartialOverlap(y, x, nameof(x));
        if (addResidual)
        {
            PartialOverlap(y, residual, nameof(residual));
        }

        PartialOverlap(y, gamma, nameof(gamma), allowSame: false);
        PartialOverlap(y, beta, nameof(beta), allowSame: false);

        int rows = x.Length / n;
        // About 64 rows of 384 per chunk: a few µs each, so two threads pay off from a batch of a few sequences.
        int rowsPerChunk = Math.Max(1, 24_576 / n);
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        long flops = 10L * x.Length;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            ParallelRunner.Run(new LayerNormKernel<Vector512<float>, Vector512Ops>(n, rows, rowsPerChunk, epsilon, addResidual), chunks, flops, maxDegreeOfParallelism, x, residual, gamma, beta, default, y);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            ParallelRunner.Run(new LayerNormKernel<Vector256<float>, Vector256Ops>(n, rows, rowsPerChunk, epsilon, addResidual), chunks, flops, maxDegreeOfParallelism, x, residual, gamma, beta, default, y);
        }
        else
        {
            ParallelRunner.Run(new LayerNormKernel<float, ScalarOps>(n, rows, rowsPerChunk, epsilon, addResidual), chunks, flops, maxDegreeOfParallelism, x, residual, gamma, beta, default, y);
        }
    }

    private static void PartialOverlap(ReadOnlySpan<float> output, ReadOnlySpan<float> input, string inputName, bool allowSame = true)
    {
        if (output.Overlaps(input, out int offset) && !(allowSame && offset == 0 && output.Length == input.Length))
        {
            throw new ArgumentException($"y overlaps {inputName}: it may be {inputName} itself or a separate buffer, not a partial overlap.", "y");
        }
    }
}
