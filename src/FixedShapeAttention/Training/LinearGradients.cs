using System;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// The backward products of a linear layer y = x·W + b over a batch of whole sequences: the weight gradient (each
/// element one multiply-add chain over the rows in order, continuing from what dW holds, and the bias gradient summed sequence by
/// sequence in batch order, each sequence's sum rounded before it is added, so micro-batches of whole sequences
/// accumulate to the same bits) and the input gradient dx = dy·Wᵀ.
/// </summary>
internal static class LinearGradients
{
    /// <summary>dW += xᵀ·dy (chained from dW) and db += Σ dy (sequence by sequence), for x [n, inputs], dy [n, outputs].</summary>
    public static void AccumulateWeights(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dWeight, Span<float> dBias,
        int n, int inputs, int outputs, int sequenceLength, int maxDegreeOfParallelism)
    {
        if (dBias.IsEmpty)
            PanelGemm.MultiplyAccumulateChained(x, inputs, true, dy, outputs, false, dWeight, outputs, inputs, outputs, n, maxDegreeOfParallelism);
        else
            PanelGemm.MultiplyAccumulateChained(x, inputs, true, dy, outputs, dWeight, outputs, inputs, outputs, n, dBias, sequenceLength, maxDegreeOfParallelism);
    }

    /// <summary>dx = dy·Wᵀ (or dx += dy·Wᵀ with <paramref name="accumulate"/>), for W [inputs, outputs].</summary>
    public static void Input(ReadOnlySpan<float> dy, ReadOnlySpan<float> weight, Span<float> dx, int n, int inputs, int outputs, bool accumulate, int maxDegreeOfParallelism) =>
        PanelGemm.Multiply(dy, outputs, false, weight, outputs, true, dx, inputs, n, inputs, outputs, accumulate, maxDegreeOfParallelism);
}
