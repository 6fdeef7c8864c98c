using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// The element-wise and row-wise pieces of a training step, forward and backward: LayerNorm with saved statistics,
/// the activations and their derivatives, bias sums. Their cost is linear in the activations (a few per cent of a
/// step against the products), so they run on one thread in a fixed order, which also fixes every sum's order.
/// </summary>
internal static class TrainingKernels
{
    /// <summary>y = (x − μ)·σ⁻¹·γ + β per row of γ.Length, keeping μ and σ⁻¹ (two passes, sums in double, as the
    /// inference kernel computes them).</summary>
    public static void LayerNormForward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> inverseDeviation)
    {
        int n = gamma.Length;
        for (int row = 0; row < mean.Length; row++)
        {
            ReadOnlySpan<float> xr = x.Slice(row * n, n);
            double sum = 0;
            foreach (float v in xr)
                sum += v;
            float mu = (float)(sum / n);
            double squares = 0;
            foreach (float v in xr)
                squares += (double)(v - mu) * (v - mu);
            float rstd = (float)(1.0 / Math.Sqrt(squares / n + epsilon));
            mean[row] = mu;
            inverseDeviation[row] = rstd;
            Span<float> yr = y.Slice(row * n, n);
            for (int i = 0; i < n; i++)
                yr[i] = MathF.FusedMultiplyAdd((xr[i] - mu) * rstd, gamma[i], beta[i]);
        }
    }

    /// <summary>
    /// dx = σ⁻¹·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)), and dγ += Σ dy·x̂, dβ += Σ dy over rows in order. The row means
    /// are summed in double. dx may be dy itself.
    /// </summary>
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dGamma, Span<float> dBeta)
    {
        int n = gamma.Length;
        for (int row = 0; row < mean.Length; row++)
        {
            ReadOnlySpan<float> xr = x.Slice(row * n, n), dyr = dy.Slice(row * n, n);
            float mu = mean[row], rstd = inverseDeviation[row];
            double sumDxhat = 0, sumDxhatXhat = 0;
            for (int i = 0; i < n; i++)
            {
                float xhat = (xr[i] - mu) * rstd;
                float dxhat = dyr[i] * gamma[i];
                sumDxhat += dxhat;
                sumDxhatXhat += (double)dxhat * xhat;
                dGamma[i] += dyr[i] * xhat;
                dBeta[i] += dyr[i];
            }

            float meanDxhat = (float)(sumDxhat / n), meanDxhatXhat = (float)(sumDxhatXhat / n);
            Span<float> dxr = dx.Slice(row * n, n);
            for (int i = 0; i < n; i++)
            {
                float xhat = (xr[i] - mu) * rstd;
                dxr[i] = rstd * (dyr[i] * gamma[i] - meanDxhat - xhat * meanDxhatXhat);
            }
        }
    }

    /// <summary>y[r, j] += b[j].</summary>
    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias)
    {
        for (int offset = 0; offset < y.Length; offset += bias.Length)
            Add(y.Slice(offset, bias.Length), bias);
    }

    /// <summary>db[j] += Σ_r dy[r, j], the rows summed in float in order first, so that a batch and its micro-batches
    /// of whole sequences give the same bits when called once per sequence. Vectors add the same terms in the same
    /// order per element as the scalar loop, so the width does not change the bits.</summary>
    public static void AccumulateBiasGradient(ReadOnlySpan<float> dy, Span<float> dBias, Span<float> scratch)
    {
        int n = dBias.Length;
        scratch = scratch[..n];
        scratch.Clear();
        for (int offset = 0; offset < dy.Length; offset += n)
            Add(scratch, dy.Slice(offset, n));
        Add(dBias, scratch);
    }

    /// <summary>target[i] += addend[i], element by element (each sum rounded once, at any width).</summary>
    public static void Add(Span<float> target, ReadOnlySpan<float> addend)
    {
        ref float t0 = ref MemoryMarshal.GetReference(target);
        ref float a0 = ref MemoryMarshal.GetReference(addend);
        int i = 0, n = target.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                (Vector512.LoadUnsafe(ref t0, (nuint)i) + Vector512.LoadUnsafe(ref a0, (nuint)i)).StoreUnsafe(ref t0, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
                (Vector256.LoadUnsafe(ref t0, (nuint)i) + Vector256.LoadUnsafe(ref a0, (nuint)i)).StoreUnsafe(ref t0, (nuint)i);
        }

        for (; i < n; i++)
            Unsafe.Add(ref t0, i) += Unsafe.Add(ref a0, i);
    }

    /// <summary>g = act(h), by the inference kernels' activation pass at the widest width (every element by the
    /// vector formula, the tail through a staged vector), so the forward pass of training computes the same bits.</summary>
    public static void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g)
    {
        h.CopyTo(g);
        switch (activation)
        {
            case Activation.Relu: Apply<ReluOperator>(g); break;
            case Activation.Gelu: Apply<GeluOperator>(g); break;
            case Activation.GeluTanh: Apply<GeluTanhOperator>(g); break;
            default: Apply<SiluOperator>(g); break;
        }
    }

    private static void Apply<TActivation>(Span<float> values)
        where TActivation : IActivationOperator
    {
        if (Vector512.IsHardwareAccelerated)
            ActivationPass.Apply512<TActivation>(values);
        else if (Vector256.IsHardwareAccelerated)
            ActivationPass.Apply256<TActivation>(values);
        else
        {
            for (int i = 0; i < values.Length; i++)
                values[i] = TActivation.Invoke(values[i]);
        }
    }

    /// <summary>dh = dg · act′(h), in place over dg.</summary>
    public static void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg) =>
        ActivationGradients.MultiplyInPlace(activation, h, dg);
}
