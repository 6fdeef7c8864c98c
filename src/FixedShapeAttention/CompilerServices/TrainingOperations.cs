using System;
using System.ComponentModel;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The runtime-shape pieces the generated training kernels call with their shape's constants: the packing product
/// (<c>C (+)= op(A)·op(B)</c>, which copies op(B)'s panels on the fly because weights change at every step), bias
/// addition and its gradient, and the activation and its derivative. One definition each, shared with
/// <see cref="TransformerLanguageModel"/>'s runtime-shape path.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class TrainingOperations
{
    /// <summary>
    /// <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> with <paramref name="accumulate"/>: op(A) is m×k (A stored m×k with
    /// stride <paramref name="lda"/>, or k×m when transposed), op(B) is k×n (B stored k×n, or n×k when transposed), C is m×n.
    /// Each element is one multiply-add chain in k order, so results do not depend on the degree of parallelism.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its dimensions and stride need, a stride is below its row length,
    /// a dimension is negative, or <paramref name="c"/> overlaps an operand.</exception>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, bool transposeA, ReadOnlySpan<float> b, int ldb, bool transposeB,
        Span<float> c, int ldc, int m, int n, int k, bool accumulate, int maxDegreeOfParallelism)
    {
        if (c.Overlaps(a) || c.Overlaps(b))
        {
            throw new ArgumentException("c: the product must not overlap its operands.", nameof(c));
        }

        KernelParallelism.Resolve(maxDegreeOfParallelism);
        PanelGemm.Multiply(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, accumulate, maxDegreeOfParallelism);
    }

    /// <summary>Adds <paramref name="bias"/> to every row of <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="bias"/> is empty or <paramref name="y"/> is not a whole number of its rows.</exception>
    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias)
    {
        WholeRows(y.Length, bias.Length, nameof(y));
        TrainingKernels.AddBias(y, bias);
    }

    /// <summary><c>dBias[j] += Σ_r dy[r, j]</c>, the rows summed in order in float first: called once per sequence, a batch and
    /// its micro-batches of whole sequences give the same bits.</summary>
    /// <exception cref="ArgumentException"><paramref name="dBias"/> is empty or <paramref name="dy"/> is not a whole number of its rows.</exception>
    public static void AccumulateBiasGradient(ReadOnlySpan<float> dy, Span<float> dBias)
    {
        WholeRows(dy.Length, dBias.Length, nameof(dy));
        TrainingKernels.AccumulateBiasGradient(dy, dBias);
    }

    /// <summary><c>g = act(h)</c> by the inference kernels' activation pass (the same bits as the forward kernels).</summary>
    /// <exception cref="ArgumentException">The spans differ in length, or <paramref name="activation"/> is not an <see cref="Activation"/>.</exception>
    public static void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g)
    {
        SameLength(h.Length, g.Length, nameof(g));
        Defined(activation);
        TrainingKernels.Activate(activation, h, g);
    }

    /// <summary><c>dg ← dg · act′(h)</c>, in place.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, or <paramref name="activation"/> is not an <see cref="Activation"/>.</exception>
    public static void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg)
    {
        SameLength(h.Length, dg.Length, nameof(dg));
        Defined(activation);
        TrainingKernels.ActivationBackward(activation, h, dg);
    }

    private static void Defined(Activation activation)
    {
        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "activation: not a member of Activation.");
        }
    }

    private static void WholeRows(int length, int rowLength, string name)
    {
        if (rowLength == 0 || length % rowLength != 0)
        {
            throw new ArgumentException($"{name}: expected a whole number of rows of {rowLength}, got {length} floats.", name);
        }
    }

    private static void SameLength(int expected, int length, string name)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{name}: expected {expected} floats, got {length}.", name);
        }
    }
}
