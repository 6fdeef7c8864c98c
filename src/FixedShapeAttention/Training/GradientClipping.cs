using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FixedShapeAttention.Training;

/// <summary>Clipping of gradients by their global L2 norm, as <c>torch.nn.utils.clip_grad_norm_</c> does.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all the parameters' gradients together and, when it exceeds
    /// <paramref name="maxNorm"/>, scales every gradient by <c>maxNorm / (norm + 1e-6)</c>. The squares are summed in
    /// double, in parameter order and in a fixed lane order, so the norm is the same bits on every run.
    /// </summary>
    /// <returns>The norm before clipping. A NaN or infinite norm is returned and nothing is scaled, so the caller can
    /// skip the step.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive and finite.</exception>
    public static double ClipByGlobalNorm(IReadOnlyList<TrainableTensor> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be positive and finite.");

        double norm = GlobalNorm(parameters);
        float factor = ClipFactor(norm, maxNorm);
        if (factor != 1f)
        {
            for (int p = 0; p < parameters.Count; p++)
            {
                Scale(parameters[p].Gradient, factor);
            }
        }

        return norm;
    }

    /// <summary>The L2 norm of all the gradients together, as <see cref="ClipByGlobalNorm"/> computes it.</summary>
    internal static double GlobalNorm(IReadOnlyList<TrainableTensor> parameters)
    {
        // Indexed loops: a foreach over the interface would allocate an enumerator every step.
        double sumOfSquares = 0;
        for (int p = 0; p < parameters.Count; p++)
        {
            TrainableTensor? parameter = parameters[p];
            ArgumentNullException.ThrowIfNull(parameter, nameof(parameters));
            sumOfSquares += SumOfSquares(parameter.Gradient);
        }

        return Math.Sqrt(sumOfSquares);
    }

    /// <summary>What <see cref="ClipByGlobalNorm"/> multiplies every gradient by: <c>maxNorm / (norm + 1e-6)</c> when a
    /// finite norm exceeds <paramref name="maxNorm"/>, else 1 (a multiplication by 1 changes no bits).</summary>
    internal static float ClipFactor(double norm, double maxNorm) =>
        double.IsFinite(norm) && norm > maxNorm ? (float)(maxNorm / (norm + 1e-6)) : 1f;

    private static void Scale(Span<float> values, float factor)
    {
        ref float start = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var f = Vector512.Create(factor);
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                (Vector512.LoadUnsafe(ref start, (nuint)i) * f).StoreUnsafe(ref start, (nuint)i);
        }

        for (; i < values.Length; i++)
            Unsafe.Add(ref start, i) *= factor;
    }

    private static double SumOfSquares(float[] values)
    {
        ReadOnlySpan<float> span = values;
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lower = Vector256<double>.Zero;
            var upper = Vector256<double>.Zero;
            for (; i <= span.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(span.Slice(i, Vector256<float>.Count)));
                lower = Vector256.FusedMultiplyAdd(low, low, lower);
                upper = Vector256.FusedMultiplyAdd(high, high, upper);
            }

            sum = Vector256.Sum(lower + upper);
        }

        for (; i < span.Length; i++)
            sum += (double)span[i] * span[i];
        return sum;
    }
}
