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
/// one call at a time, gets the same bits). Backward: one pass, a sequence per chunk; dγ and dβ are summed per sequence
/// in row order from zero into the chunk's own partial sums, which are then added to the gradients in sequence order:
/// the same bits for every degree of parallelism, and for micro-batches of whole sequences. The runtime-shape
/// model and the kernels generated for a shape (through <see cref="TrainingOperations"/>) both run this code.
/// </summary>
internal static unsafe class TrainingLayerNorm
{
    /// <summary>The most floats of per-sequence partial sums of dγ (and as many of dβ) one run of the backward pass keeps.</summary>
    private const int MaxPartialFloats = 1 << 21;

    [ThreadStatic]
    private static float[]? t_gammaSums;

    [ThreadStatic]
    private static float[]? t_betaSums;

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
    /// residual itself. One pass, a chunk per sequence: each row is read once for its share of the sequence's dγ and dβ
    /// (summed from zero in row order) and then for its dx, while it is in L1. Two passes, dγ and dβ by column blocks and
    /// then dx, read x and dy twice from beyond L2 and took 2.5–2.6 ms a training step against 1.5–1.8 ms (the issue's
    /// GPT, one thread, 2026-11-30). The partial sums are added to the gradients in sequence order after the chunks, so no
    /// element depends on the chunking: the bits are the same for every degree of parallelism and for micro-batches of
    /// whole sequences, and the same as the two passes gave.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation,
        ReadOnlySpan<float> dy, ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta,
        int sequenceLength, int maxDegreeOfParallelism)
    {
        int rows = mean.Length, width = gamma.Length, sequences = (rows + sequenceLength - 1) / sequenceLength;
        if (rows == 0 || width == 0)
            return;

        // Each sequence's dγ sums and dβ sums, for up to a group of sequences per run (bounded buffers whatever the batch,
        // and each no longer than a row); pinned, since the chunks of other threads write them through pointers.
        int group = Math.Max(1, MaxPartialFloats / width);
        int partialFloats = width * Math.Min(group, sequences);
        float* gammaSums = PinnedScratch.Get(ref t_gammaSums, partialFloats), betaSums = PinnedScratch.Get(ref t_betaSums, partialFloats);
        fixed (float* px = x, pg = gamma, pm = mean, pr = inverseDeviation, pdy = dy, pres = residual, pdx = dx, pdg = dGamma, pdb = dBeta)
        {
            for (int first = 0; first < sequences; first += group)
            {
                int count = Math.Min(group, sequences - first);
                var kernel = new BackwardKernel(px, pg, pm, pr, pdy, residual.IsEmpty ? null : pres, pdx, gammaSums, betaSums, first, width, sequenceLength, rows);
                ParallelRunner.Run(kernel, count, 14L * Math.Min(rows, (long)count * sequenceLength) * width, maxDegreeOfParallelism, default, default, default, default, default, default);
                for (int sequence = 0; sequence < count; sequence++)
                {
                    TrainingKernels.Add(new Span<float>(pdg, width), new ReadOnlySpan<float>(gammaSums + (nint)sequence * width, width));
                    TrainingKernels.Add(new Span<float>(pdb, width), new ReadOnlySpan<float>(betaSums + (nint)sequence * width, width));
                }
            }
        }
    }

    /// <summary>One row forward: μ and the variance summed in double (lane-wise in four chains with AVX-512, then across
    /// lanes), y by one FMA.</summary>
    public static void Row(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, out float mean, out float inverseDeviation)
    {
        int n = gamma.Length, i = 0;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            // Four chains of double adds, 32 floats a step: one or two chains of 8 floats a step left the row's two
            // sums latency-bound (32 dependent adds, then 32 dependent multiply-adds, per row of 256).
            Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (; i <= n - 32; i += 32)
            {
                Vector512<float> v0 = Vector512.LoadUnsafe(ref x0, (nuint)i), v1 = Vector512.LoadUnsafe(ref x0, (nuint)(i + 16));
                s0 += Avx512F.ConvertToVector512Double(v0.GetLower());
                s1 += Avx512F.ConvertToVector512Double(v0.GetUpper());
                s2 += Avx512F.ConvertToVector512Double(v1.GetLower());
                s3 += Avx512F.ConvertToVector512Double(v1.GetUpper());
            }

            for (; i <= n - 16; i += 16)
            {
                Vector512<float> v0 = Vector512.LoadUnsafe(ref x0, (nuint)i);
                s0 += Avx512F.ConvertToVector512Double(v0.GetLower());
                s1 += Avx512F.ConvertToVector512Double(v0.GetUpper());
            }

            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated)
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
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            var mu16 = Vector512.Create(mu);
            Vector512<double> q0 = Vector512<double>.Zero, q1 = q0, q2 = q0, q3 = q0;
            for (; i <= n - 32; i += 32)
            {
                Vector512<float> c0 = Vector512.LoadUnsafe(ref x0, (nuint)i) - mu16, c1 = Vector512.LoadUnsafe(ref x0, (nuint)(i + 16)) - mu16;
                Vector512<double> d0 = Avx512F.ConvertToVector512Double(c0.GetLower()), d1 = Avx512F.ConvertToVector512Double(c0.GetUpper());
                Vector512<double> d2 = Avx512F.ConvertToVector512Double(c1.GetLower()), d3 = Avx512F.ConvertToVector512Double(c1.GetUpper());
                q0 = Vector512.FusedMultiplyAdd(d0, d0, q0);
                q1 = Vector512.FusedMultiplyAdd(d1, d1, q1);
                q2 = Vector512.FusedMultiplyAdd(d2, d2, q2);
                q3 = Vector512.FusedMultiplyAdd(d3, d3, q3);
            }

            for (; i <= n - 16; i += 16)
            {
                Vector512<float> c0 = Vector512.LoadUnsafe(ref x0, (nuint)i) - mu16;
                Vector512<double> d0 = Avx512F.ConvertToVector512Double(c0.GetLower()), d1 = Avx512F.ConvertToVector512Double(c0.GetUpper());
                q0 = Vector512.FusedMultiplyAdd(d0, d0, q0);
                q1 = Vector512.FusedMultiplyAdd(d1, d1, q1);
            }

            squares = Vector512.Sum((q0 + q1) + (q2 + q3));
        }
        else if (Vector256.IsHardwareAccelerated)
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

    /// <summary>Sequence <c>firstSequence + chunk</c>: its dγ and dβ sums from zero into the chunk's rows of the partial
    /// sums (row by row, each before the row's dx, which may overwrite its dy), and each row's dx.</summary>
    private readonly struct BackwardKernel(
        float* x, float* gamma, float* mean, float* rstd, float* dy, float* residual, float* dx, float* gammaPartials, float* betaPartials,
        int firstSequence, int width, int sequenceLength, int rows) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            float* gammaSums = gammaPartials + (nint)chunk * width, betaSums = betaPartials + (nint)chunk * width;
            new Span<float>(gammaSums, width).Clear();
            new Span<float>(betaSums, width).Clear();
            for (int r = (firstSequence + chunk) * sequenceLength, end = Math.Min(rows, r + sequenceLength); r < end; r++)
            {
                nint offset = (nint)r * width;
                AddParameterTerms(x + offset, mean[r], rstd[r], dy + offset, gammaSums, betaSums, width);
                BackwardRow(x + offset, gamma, mean[r], rstd[r], dy + offset, residual is null ? null : residual + offset, dx + offset, width);
            }
        }
    }

    /// <summary>One row's terms of dγ and dβ: γ[j] += dy·((x − μ)·σ⁻¹), β[j] += dy, each rounded as written (no FMA), the
    /// same at every width.</summary>
    private static void AddParameterTerms(float* x, float mu, float rstd, float* dy, float* gammaSums, float* betaSums, int width)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            j = ParameterTerms<Vector512<float>, Vector512Ops>(x, mu, rstd, dy, gammaSums, betaSums, j, width);
        if (Vector256.IsHardwareAccelerated)
            j = ParameterTerms<Vector256<float>, Vector256Ops>(x, mu, rstd, dy, gammaSums, betaSums, j, width);
        for (; j < width; j++)
        {
            gammaSums[j] += dy[j] * ((x[j] - mu) * rstd);
            betaSums[j] += dy[j];
        }
    }

    /// <summary><see cref="AddParameterTerms"/> over [j, width) a vector at a time; returns the first column not done.</summary>
    private static int ParameterTerms<TVec, TOps>(float* x, float mu, float rstd, float* dy, float* gammaSums, float* betaSums, int j, int width)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        TVec muVector = TOps.Broadcast(mu), rstdVector = TOps.Broadcast(rstd);
        for (; j <= width - TOps.Count; j += TOps.Count)
        {
            TVec d = TOps.Load(dy + j);
            TOps.Store(TOps.Add(TOps.Load(gammaSums + j), TOps.Multiply(d, TOps.Multiply(TOps.Subtract(TOps.Load(x + j), muVector), rstdVector))), gammaSums + j);
            TOps.Store(TOps.Add(TOps.Load(betaSums + j), d), betaSums + j);
        }

        return j;
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
