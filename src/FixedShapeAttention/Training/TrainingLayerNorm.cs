using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// LayerNorm of a training step over [rows, width], a chunk of whole sequences per worker. Forward: each row by
/// <see cref="Row"/>, so a row's bits do not depend on the chunking (and the decoder, which normalises the same rows
/// one call at a time, gets the same bits). Backward: dγ and dβ are summed per sequence in row order into a partial of
/// its own, and the partials are then added to the gradients in sequence order on the calling thread: the same bits
/// for every degree of parallelism, and for micro-batches of whole sequences.
/// </summary>
internal static unsafe class TrainingLayerNorm
{
    /// <summary>y = (x − μ)·σ⁻¹·γ + β per row, keeping μ and σ⁻¹.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> inverseDeviation, int sequenceLength, int maxDegreeOfParallelism)
    {
        int rows = mean.Length, width = gamma.Length;
        fixed (float* px = x, pg = gamma, pb = beta, py = y, pm = mean, pr = inverseDeviation)
        {
            var kernel = new ForwardKernel(px, pg, pb, epsilon, py, pm, pr, width, sequenceLength, rows);
            ParallelRunner.Run(kernel, (rows + sequenceLength - 1) / sequenceLength, 8L * rows * width, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    /// <summary>
    /// dx = σ⁻¹·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) (+ <paramref name="residual"/> when given, the residual branch's
    /// gradient, added after the rounding as a separate add would), and dγ += Σ dy·x̂, dβ += Σ dy. dx may be dy or the
    /// residual itself. <paramref name="partials"/> holds 2·width floats per sequence.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation,
        ReadOnlySpan<float> dy, ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta, Span<float> partials,
        int sequenceLength, int maxDegreeOfParallelism)
    {
        int rows = mean.Length, width = gamma.Length, sequences = (rows + sequenceLength - 1) / sequenceLength;
        fixed (float* px = x, pg = gamma, pm = mean, pr = inverseDeviation, pdy = dy, pres = residual, pdx = dx, pp = partials)
        {
            var kernel = new BackwardKernel(px, pg, pm, pr, pdy, residual.IsEmpty ? null : pres, pdx, pp, width, sequenceLength, rows);
            ParallelRunner.Run(kernel, sequences, 12L * rows * width, maxDegreeOfParallelism, default, default, default, default, default, default);
        }

        for (int s = 0; s < sequences; s++)
        {
            TrainingKernels.Add(dGamma, partials.Slice(2 * s * width, width));
            TrainingKernels.Add(dBeta, partials.Slice((2 * s + 1) * width, width));
        }
    }

    /// <summary>One row forward: μ and the variance summed in double (lane-wise, then across lanes), y by one FMA.</summary>
    public static void Row(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, out float mean, out float inverseDeviation)
    {
        int n = gamma.Length, i = 0;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        double sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> lower = Vector256<double>.Zero, upper = Vector256<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref x0, (nuint)i));
                lower += low;
                upper += high;
            }

            sum = Vector256.Sum(lower + upper);
        }

        for (; i < n; i++)
            sum += Unsafe.Add(ref x0, i);
        float mu = (float)(sum / n);

        double squares = 0;
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> lower = Vector256<double>.Zero, upper = Vector256<double>.Zero;
            var muVector = Vector256.Create(mu);
            for (; i <= n - 8; i += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref x0, (nuint)i) - muVector);
                lower = Vector256.FusedMultiplyAdd(low, low, lower);
                upper = Vector256.FusedMultiplyAdd(high, high, upper);
            }

            squares = Vector256.Sum(lower + upper);
        }

        for (; i < n; i++)
        {
            double centred = Unsafe.Add(ref x0, i) - mu;
            squares += centred * centred;
        }

        float rstd = (float)(1.0 / Math.Sqrt(squares / n + epsilon));
        mean = mu;
        inverseDeviation = rstd;
        ref float g0 = ref MemoryMarshal.GetReference(gamma);
        ref float b0 = ref MemoryMarshal.GetReference(beta);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var muVector = Vector512.Create(mu);
            var rstdVector = Vector512.Create(rstd);
            for (; i <= n - 16; i += 16)
            {
                var xhat = (Vector512.LoadUnsafe(ref x0, (nuint)i) - muVector) * rstdVector;
                Vector512.FusedMultiplyAdd(xhat, Vector512.LoadUnsafe(ref g0, (nuint)i), Vector512.LoadUnsafe(ref b0, (nuint)i)).StoreUnsafe(ref y0, (nuint)i);
            }
        }

        for (; i < n; i++)
            Unsafe.Add(ref y0, i) = MathF.FusedMultiplyAdd((Unsafe.Add(ref x0, i) - mu) * rstd, Unsafe.Add(ref g0, i), Unsafe.Add(ref b0, i));
    }

    private readonly struct ForwardKernel(float* x, float* gamma, float* beta, float epsilon, float* y, float* mean, float* rstd, int width, int sequenceLength, int rows) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            var g = new ReadOnlySpan<float>(gamma, width);
            var b = new ReadOnlySpan<float>(beta, width);
            for (int r = chunk * sequenceLength, end = Math.Min(rows, r + sequenceLength); r < end; r++)
            {
                // y may be x itself: Row reads each row before it writes it.
                Row(new ReadOnlySpan<float>(x + (nint)r * width, width), g, b, epsilon, new Span<float>(y + (nint)r * width, width), out mean[r], out rstd[r]);
            }
        }
    }

    private readonly struct BackwardKernel(float* x, float* gamma, float* mean, float* rstd, float* dy, float* residual, float* dx, float* partials, int width, int sequenceLength, int rows) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            float* dGamma = partials + (nint)2 * chunk * width, dBeta = dGamma + width;
            new Span<float>(dGamma, 2 * width).Clear();
            for (int r = chunk * sequenceLength, end = Math.Min(rows, r + sequenceLength); r < end; r++)
            {
                nint offset = (nint)r * width;
                BackwardRow(x + offset, gamma, mean[r], rstd[r], dy + offset, residual is null ? null : residual + offset, dx + offset, dGamma, dBeta, width);
            }
        }
    }

    private static void BackwardRow(float* x, float* gamma, float mu, float rstd, float* dy, float* residual, float* dx, float* dGamma, float* dBeta, int n)
    {
        int i = 0;
        double sumDxhat = 0, sumDxhatXhat = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var muVector = Vector256.Create(mu);
            var rstdVector = Vector256.Create(rstd);
            Vector256<double> s0 = Vector256<double>.Zero, s1 = Vector256<double>.Zero, p0 = Vector256<double>.Zero, p1 = Vector256<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var dyi = Vector256.Load(dy + i);
                var xhat = (Vector256.Load(x + i) - muVector) * rstdVector;
                var dxhat = dyi * Vector256.Load(gamma + i);
                var (dxLow, dxHigh) = Vector256.Widen(dxhat);
                var (xLow, xHigh) = Vector256.Widen(xhat);
                s0 += dxLow;
                s1 += dxHigh;
                p0 = Vector256.FusedMultiplyAdd(dxLow, xLow, p0);
                p1 = Vector256.FusedMultiplyAdd(dxHigh, xHigh, p1);
                (Vector256.Load(dGamma + i) + dyi * xhat).Store(dGamma + i);
                (Vector256.Load(dBeta + i) + dyi).Store(dBeta + i);
            }

            sumDxhat = Vector256.Sum(s0 + s1);
            sumDxhatXhat = Vector256.Sum(p0 + p1);
        }

        for (; i < n; i++)
        {
            float xhat = (x[i] - mu) * rstd;
            float dxhat = dy[i] * gamma[i];
            sumDxhat += dxhat;
            sumDxhatXhat += (double)dxhat * xhat;
            dGamma[i] += dy[i] * xhat;
            dBeta[i] += dy[i];
        }

        float meanDxhat = (float)(sumDxhat / n), meanDxhatXhat = (float)(sumDxhatXhat / n);
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var muVector = Vector256.Create(mu);
            var rstdVector = Vector256.Create(rstd);
            var m1 = Vector256.Create(meanDxhat);
            var m2 = Vector256.Create(meanDxhatXhat);
            for (; i <= n - 8; i += 8)
            {
                var xhat = (Vector256.Load(x + i) - muVector) * rstdVector;
                var value = rstdVector * (Vector256.Load(dy + i) * Vector256.Load(gamma + i) - m1 - xhat * m2);
                (residual is null ? value : value + Vector256.Load(residual + i)).Store(dx + i);
            }
        }

        for (; i < n; i++)
        {
            float xhat = (x[i] - mu) * rstd;
            float value = rstd * (dy[i] * gamma[i] - meanDxhat - xhat * meanDxhatXhat);
            dx[i] = residual is null ? value : value + residual[i];
        }
    }
}
