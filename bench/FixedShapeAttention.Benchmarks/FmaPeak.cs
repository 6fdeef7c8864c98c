using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The machine's FP32 FMA peak, measured in the same run as the kernels so "% of peak" is a ratio of two numbers taken
/// together: 16 independent Vector512 FMA chains (12 of Vector256 without AVX-512, 12 of Vector128 without AVX2), enough to cover the FMA latency on every port.
/// </summary>
public static class FmaPeak
{
    private static readonly Lazy<(double PerThread, double AllThreads, string Width)> s_peak = new(Measure);

    /// <summary>GFLOP/s of one thread, of all threads, and the vector width used.</summary>
    public static (double PerThread, double AllThreads, string Width) Value => s_peak.Value;

    /// <summary>
    /// The peak of a row run on <paramref name="threads"/> threads: one thread's, or the all-thread peak scaled to the
    /// threads used (at most every processor).
    /// </summary>
    public static double GflopsFor(int threads)
    {
        var peak = Value;
        return threads == 1 ? peak.PerThread : peak.AllThreads * Math.Min(threads, Environment.ProcessorCount) / Environment.ProcessorCount;
    }

    private static (double, double, string) Measure()
    {
        string width = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "Vector128";
        double one = Best(1);
        double all = Best(Environment.ProcessorCount);
        return (one, all, width);
    }

    private static double Best(int threads)
    {
        double best = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            const long iterations = 20_000_000;
            var stopwatch = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Chains(iterations));
            double seconds = stopwatch.Elapsed.TotalSeconds;
            (int lanes, int chains) = Vector512.IsHardwareAccelerated ? (16, 16) : Vector256.IsHardwareAccelerated ? (8, 12) : (4, 12);
            best = Math.Max(best, threads * iterations * (double)chains * lanes * 2 / seconds / 1e9);
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains(long iterations)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> m = Vector512.Create(0.999999f), a = Vector512.Create(1e-7f);
            Vector512<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m, c12 = m, c13 = m, c14 = m, c15 = m;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a); c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
                c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a); c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
                c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a); c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
                c12 = Vector512.FusedMultiplyAdd(c12, m, a); c13 = Vector512.FusedMultiplyAdd(c13, m, a); c14 = Vector512.FusedMultiplyAdd(c14, m, a); c15 = Vector512.FusedMultiplyAdd(c15, m, a);
            }

            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            // Twelve chains, not sixteen: without AVX-512 there are only 16 vector registers (no EVEX), and sixteen
            // chains plus m and a spill, which measured 79 instead of ~137 GFLOP/s here.
            Vector256<float> m = Vector256.Create(0.999999f), a = Vector256.Create(1e-7f);
            Vector256<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a); c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
                c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a); c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
                c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a); c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
            }

            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        else
        {
            // The Vector128 branch's multiply-add as the kernels spell it: an FMA where the CPU has one, else (x64 under
            // DOTNET_EnableAVX2=0) a multiply and an add, whose rate is then the peak that branch can reach.
            Vector128<float> m = Vector128.Create(0.999999f), a = Vector128.Create(1e-7f);
            Vector128<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Vector128.MultiplyAddEstimate(c0, m, a); c1 = Vector128.MultiplyAddEstimate(c1, m, a); c2 = Vector128.MultiplyAddEstimate(c2, m, a);
                c3 = Vector128.MultiplyAddEstimate(c3, m, a); c4 = Vector128.MultiplyAddEstimate(c4, m, a); c5 = Vector128.MultiplyAddEstimate(c5, m, a);
                c6 = Vector128.MultiplyAddEstimate(c6, m, a); c7 = Vector128.MultiplyAddEstimate(c7, m, a); c8 = Vector128.MultiplyAddEstimate(c8, m, a);
                c9 = Vector128.MultiplyAddEstimate(c9, m, a); c10 = Vector128.MultiplyAddEstimate(c10, m, a); c11 = Vector128.MultiplyAddEstimate(c11, m, a);
            }

            return Vector128.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
    }
}
