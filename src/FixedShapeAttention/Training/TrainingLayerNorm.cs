using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// LayerNorm of a training step over [rows, width], a chunk of whole sequences per worker. Forward: each row by
/// <see cref="Row"/>, so a row's bits do not depend on the chunking (and the decoder, which normalises the same rows
/// one call at a time, gets the same bits). Backward: dγ and dβ are summed per sequence in row order from zero, and
/// the sums added to the gradients in sequence order, by column blocks (a column has one owner, so no reduction
/// buffer): the same bits for every degree of parallelism, and for micro-batches of whole sequences. The runtime-shape
/// model and the kernels generated for a shape (through <see cref="TrainingOperations"/>) both run this code.
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
    /// residual itself. Two parallel passes: dγ and dβ first (dx may overwrite dy), by blocks of
    /// <paramref name="columnBlock"/> columns, each column summed down each sequence's rows from zero and the sums added
    /// in sequence order; then dx by sequences, each row on its own. No element depends on the chunking, so the bits
    /// are the same for every degree of parallelism and for micro-batches of whole sequences.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation,
        ReadOnlySpan<float> dy, ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta,
        int sequenceLength, int columnBlock, int maxDegreeOfParallelism)
    {
        int rows = mean.Length, width = gamma.Length, sequences = (rows + sequenceLength - 1) / sequenceLength;
        fixed (float* px = x, pg = gamma, pm = mean, pr = inverseDeviation, pdy = dy, pres = residual, pdx = dx, pdg = dGamma, pdb = dBeta)
        {
            var parameters = new ParameterGradientKernel(px, pm, pr, pdy, pdg, pdb, width, sequenceLength, rows, columnBlock);
            ParallelRunner.Run(parameters, (width + columnBlock - 1) / columnBlock, 4L * rows * width, maxDegreeOfParallelism, default, default, default, default, default, default);
            var inputs = new InputGradientKernel(px, pg, pm, pr, pdy, residual.IsEmpty ? null : pres, pdx, width, sequenceLength, rows);
            ParallelRunner.Run(inputs, sequences, 10L * rows * width, maxDegreeOfParallelism, default, default, default, default, default, default);
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

    /// <summary>dγ and dβ of columns [chunk·columnBlock, …): per sequence, each column's sum down the rows in registers from
    /// zero (as a cleared partial would be), then added to the gradient; sequences in order.</summary>
    private readonly struct ParameterGradientKernel(float* x, float* mean, float* rstd, float* dy, float* dGamma, float* dBeta, int width, int sequenceLength, int rows, int columnBlock) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int first = chunk * columnBlock, end = Math.Min(width, first + columnBlock);
            for (int start = 0; start < rows; start += sequenceLength)
            {
                int stop = Math.Min(rows, start + sequenceLength), j = first;
                if (Vector512.IsHardwareAccelerated)
                    j = ParameterSums<Vector512<float>, Vector512Ops>(x, mean, rstd, dy, dGamma, dBeta, width, start, stop, j, end);
                if (Vector256.IsHardwareAccelerated)
                    j = ParameterSums<Vector256<float>, Vector256Ops>(x, mean, rstd, dy, dGamma, dBeta, width, start, stop, j, end);

                // The same operations per element as the vectors: the width does not change the bits.
                for (; j < end; j++)
                {
                    float g = 0, b = 0;
                    for (int r = start; r < stop; r++)
                    {
                        float dyi = dy[(nint)r * width + j];
                        g += dyi * ((x[(nint)r * width + j] - mean[r]) * rstd[r]);
                        b += dyi;
                    }

                    dGamma[j] += g;
                    dBeta[j] += b;
                }
            }
        }
    }

    /// <summary>dγ and dβ of columns [j, end) two vectors at a time, rows start to stop (one sequence): each column's sums
    /// from zero down the rows, then added to the gradients. Returns the first column not done.</summary>
    private static int ParameterSums<TVec, TOps>(
        float* x, float* mean, float* rstd, float* dy, float* dGamma, float* dBeta, int width, int start, int stop, int j, int end)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        int w = TOps.Count;
        for (; j <= end - 2 * w; j += 2 * w)
        {
            TVec g0 = TOps.Zero, g1 = g0, b0 = g0, b1 = g0;
            for (int r = start; r < stop; r++)
            {
                float* xr = x + (nint)r * width + j, dyr = dy + (nint)r * width + j;
                TVec mu = TOps.Broadcast(mean[r]), inverse = TOps.Broadcast(rstd[r]);
                TVec dy0 = TOps.Load(dyr), dy1 = TOps.Load(dyr + w);
                g0 = TOps.Add(g0, TOps.Multiply(dy0, TOps.Multiply(TOps.Subtract(TOps.Load(xr), mu), inverse)));
                g1 = TOps.Add(g1, TOps.Multiply(dy1, TOps.Multiply(TOps.Subtract(TOps.Load(xr + w), mu), inverse)));
                b0 = TOps.Add(b0, dy0);
                b1 = TOps.Add(b1, dy1);
            }

            TOps.Store(TOps.Add(TOps.Load(dGamma + j), g0), dGamma + j);
            TOps.Store(TOps.Add(TOps.Load(dGamma + j + w), g1), dGamma + j + w);
            TOps.Store(TOps.Add(TOps.Load(dBeta + j), b0), dBeta + j);
            TOps.Store(TOps.Add(TOps.Load(dBeta + j + w), b1), dBeta + j + w);
        }

        return j;
    }

    private readonly struct InputGradientKernel(float* x, float* gamma, float* mean, float* rstd, float* dy, float* residual, float* dx, int width, int sequenceLength, int rows) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            for (int r = chunk * sequenceLength, end = Math.Min(rows, r + sequenceLength); r < end; r++)
            {
                nint offset = (nint)r * width;
                BackwardRow(x + offset, gamma, mean[r], rstd[r], dy + offset, residual is null ? null : residual + offset, dx + offset, width);
            }
        }
    }

    private static void BackwardRow(float* x, float* gamma, float mu, float rstd, float* dy, float* residual, float* dx, int n)
    {
        int i = 0;
        double sumDxhat = 0, sumDxhatXhat = 0;
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            // Sixteen floats a step, each half widened to eight doubles.
            var muVector = Vector512.Create(mu);
            var rstdVector = Vector512.Create(rstd);
            Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, p0 = s0, p1 = s0;
            for (; i <= n - 16; i += 16)
            {
                var xhat = (Vector512.Load(x + i) - muVector) * rstdVector;
                var dxhat = Vector512.Load(dy + i) * Vector512.Load(gamma + i);
                var dxLow = Avx512F.ConvertToVector512Double(dxhat.GetLower());
                var dxHigh = Avx512F.ConvertToVector512Double(dxhat.GetUpper());
                s0 += dxLow;
                s1 += dxHigh;
                p0 = Vector512.FusedMultiplyAdd(dxLow, Avx512F.ConvertToVector512Double(xhat.GetLower()), p0);
                p1 = Vector512.FusedMultiplyAdd(dxHigh, Avx512F.ConvertToVector512Double(xhat.GetUpper()), p1);
            }

            sumDxhat = Vector512.Sum(s0 + s1);
            sumDxhatXhat = Vector512.Sum(p0 + p1);
        }
        else if (Vector256.IsHardwareAccelerated)
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
        }

        float meanDxhat = (float)(sumDxhat / n), meanDxhatXhat = (float)(sumDxhatXhat / n);
        i = 0;
        if (Vector512.IsHardwareAccelerated)
            i = InputGradients<Vector512<float>, Vector512Ops>(x, gamma, mu, rstd, meanDxhat, meanDxhatXhat, dy, residual, dx, i, n);
        if (Vector256.IsHardwareAccelerated)
            i = InputGradients<Vector256<float>, Vector256Ops>(x, gamma, mu, rstd, meanDxhat, meanDxhatXhat, dy, residual, dx, i, n);

        for (; i < n; i++)
        {
            float xhat = (x[i] - mu) * rstd;
            float value = rstd * (dy[i] * gamma[i] - meanDxhat - xhat * meanDxhatXhat);
            dx[i] = residual is null ? value : value + residual[i];
        }
    }

    /// <summary>dx = σ⁻¹·(dy·γ − m₁ − x̂·m₂) (+ the residual) over [i, n) a vector at a time; returns the first element not done.</summary>
    private static int InputGradients<TVec, TOps>(
        float* x, float* gamma, float mu, float rstd, float meanDxhat, float meanDxhatXhat, float* dy, float* residual, float* dx, int i, int n)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        TVec muVector = TOps.Broadcast(mu), rstdVector = TOps.Broadcast(rstd), m1 = TOps.Broadcast(meanDxhat), m2 = TOps.Broadcast(meanDxhatXhat);
        for (; i <= n - TOps.Count; i += TOps.Count)
        {
            TVec xhat = TOps.Multiply(TOps.Subtract(TOps.Load(x + i), muVector), rstdVector);
            TVec value = TOps.Multiply(rstdVector, TOps.Subtract(TOps.Subtract(TOps.Multiply(TOps.Load(dy + i), TOps.Load(gamma + i)), m1), TOps.Multiply(xhat, m2)));
            TOps.Store(residual is null ? value : TOps.Add(value, TOps.Load(residual + i)), dx + i);
        }

        return i;
    }
}
