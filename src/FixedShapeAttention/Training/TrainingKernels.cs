using System;
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
        {
            Span<float> row = y.Slice(offset, bias.Length);
            for (int j = 0; j < row.Length; j++)
                row[j] += bias[j];
        }
    }

    /// <summary>db[j] += Σ_r dy[r, j], the rows summed in float in order first, so that a batch and its micro-batches
    /// of whole sequences give the same bits when called once per sequence.</summary>
    public static void AccumulateBiasGradient(ReadOnlySpan<float> dy, Span<float> dBias, Span<float> scratch)
    {
        int n = dBias.Length;
        scratch = scratch[..n];
        scratch.Clear();
        for (int offset = 0; offset < dy.Length; offset += n)
        {
            ReadOnlySpan<float> row = dy.Slice(offset, n);
            for (int j = 0; j < n; j++)
                scratch[j] += row[j];
        }

        for (int j = 0; j < n; j++)
            dBias[j] += scratch[j];
    }

    public static void Activate(Activation activation, ReadOnlySpan<float> h, Span<float> g)
    {
        switch (activation)
        {
            case Activation.Relu:
                for (int i = 0; i < h.Length; i++)
                    g[i] = ReluOperator.Invoke(h[i]);
                break;
            case Activation.Gelu:
                for (int i = 0; i < h.Length; i++)
                    g[i] = GeluOperator.Invoke(h[i]);
                break;
            case Activation.GeluTanh:
                for (int i = 0; i < h.Length; i++)
                    g[i] = GeluTanhOperator.Invoke(h[i]);
                break;
            default:
                for (int i = 0; i < h.Length; i++)
                    g[i] = SiluOperator.Invoke(h[i]);
                break;
        }
    }

    /// <summary>dh = dg · act′(h), in place over dg.</summary>
    public static void ActivationBackward(Activation activation, ReadOnlySpan<float> h, Span<float> dg)
    {
        for (int i = 0; i < h.Length; i++)
            dg[i] *= Derivative(activation, h[i]);
    }

    public static float Derivative(Activation activation, float x)
    {
        switch (activation)
        {
            case Activation.Relu:
                return x > 0f ? 1f : 0f;
            case Activation.Gelu:
            {
                // Φ(x) + x·φ(x); Φ from the forward operator's x·Φ(x), whose erfc fit is within ~1e-7 relative.
                float cdf = MathF.Abs(x) < 1e-4f ? 0.5f + 0.3989423f * x : GeluOperator.Invoke(x) / x;
                return cdf + x * 0.3989422804f * MathF.Exp(-0.5f * x * x);
            }

            case Activation.GeluTanh:
            {
                const float K = 0.7978845608f, C = 0.044715f;
                float t = MathF.Tanh(K * (x + C * x * x * x));
                return 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * K * (1f + 3f * C * x * x);
            }

            default:
            {
                float s = 1f / (1f + MathF.Exp(-x));
                return s * (1f + x * (1f - s));
            }
        }
    }
}
