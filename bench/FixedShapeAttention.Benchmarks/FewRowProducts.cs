using System;
using System.Diagnostics;
using System.Globalization;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// <c>-- few-row-products</c>: y = x·W + b for a few to a prompt's worth of rows, on one thread, through the decode
/// step's streaming product (<c>FewRowGemm</c>) and through the packing one (<c>PanelGemm</c> + bias), which compute the
/// same bits: the times behind <c>FewRowGemm.Suits</c>. W is the demo model's (64–256 KiB) or GPT-2-small's (2.4–9.4
/// MB), read from cache (one copy) or from DRAM (24 copies cycled); after a quarter-second warm-up, best of 7 rounds of 20
/// calls.
/// </summary>
public static class FewRowProducts
{
    public static void Run()
    {
        Console.WriteLine("| W (k × n) | from | rows | FewRowGemm | PanelGemm | ratio |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach ((int k, int n, int copies) in new[] { (128, 128, 1), (128, 512, 1), (512, 128, 1), (768, 768, 1), (768, 3072, 1), (3072, 768, 1), (768, 3072, 24), (3072, 768, 24) })
        {
            var weights = new float[copies][];
            for (int i = 0; i < copies; i++)
            {
                weights[i] = new float[k * n];
                weights[i].AsSpan().Fill(0.001f);
            }

            foreach (int m in new[] { 1, 8, 16, 32, 64, 128 })
            {
                var x = new float[m * k];
                x.AsSpan().Fill(1f);
                var bias = new float[n];
                var y = new float[m * n];
                int call = 0;
                double few = BestSeconds(() => FewRowGemm.Multiply(x, weights[call++ % copies], bias, y, m, k, n, 1));
                double panel = BestSeconds(() =>
                {
                    PanelGemm.Multiply(x, k, false, weights[call++ % copies], n, false, y, n, m, n, k, false, 1);
                    TrainingKernels.AddBias(y, bias);
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {k} × {n} | {(copies == 1 ? "cache" : "DRAM")} | {m} | {few * 1e6:0.0} µs ({2.0 * m * k * n / few / 1e9:0} GFLOP/s) | {panel * 1e6:0.0} µs ({2.0 * m * k * n / panel / 1e9:0} GFLOP/s) | {few / panel:0.00} |"));
            }
        }
    }

    private static double BestSeconds(Action call)
    {
        // A quarter of a second first, so that tiered compilation has finished with the call.
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 250)
            call();
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 20; i++)
                call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / 20);
        }

        return best;
    }
}
