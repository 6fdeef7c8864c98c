using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using BenchmarkDotNet.Reports;

namespace FixedShapeAttention.Benchmarks;

/// <summary>One measured row of a run: a kernel's engine on a shape and a thread count.</summary>
public sealed record ResultRow(string Kernel, string Engine, string Shape, int Threads, double MeanNanoseconds, double Gflops, double PercentOfPeak, long? AllocatedBytes);

/// <summary>
/// What a run leaves in bench/results: its means, ratios and % of peak as markdown tables shaped like
/// bench/README.md's (results.md) and the % of peak chart (percent-of-peak.png), both from this run's summaries and
/// the FMA peak measured in this process.
/// </summary>
public static class RunResults
{
    /// <summary>Display order of kernels, engines and shapes; anything else sorts after, by name.</summary>
    public static readonly string[] Kernels = { "Attention", "FeedForward" };

    public static readonly string[] Engines = { "Generic", "Generated", "GeneratedPacked", "TensorPrimitives", "OnnxRuntime", "OnnxRuntimeStandardOps" };

    public static readonly string[] Shapes = { "S0", "S1", "S2", "S3", "Odd" };

    /// <summary>bench/results of the source tree this assembly was built from.</summary>
    public static string DefaultDirectory =>
        typeof(RunResults).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ResultsDirectory").Value!;

    /// <summary>The rows of every benchmark of <paramref name="summaries"/> that produced a mean.</summary>
    public static List<ResultRow> Collect(IEnumerable<Summary> summaries)
    {
        var rows = new List<ResultRow>();
        foreach (Summary summary in summaries)
        {
            foreach (BenchmarkReport report in summary.Reports)
            {
                if (report.ResultStatistics is not { } statistics)
                {
                    continue;
                }

                var benchmark = report.BenchmarkCase;
                Type type = benchmark.Descriptor.Type;
                if (!typeof(KernelBenchmark).IsAssignableFrom(type))
                {
                    // The encoder and scheduling benchmarks have tables of their own (BenchmarkDotNet's), not kernel rows.
                    continue;
                }

                string shape = (string)benchmark.Parameters["Shape"];
                int threads = (int)benchmark.Parameters["Threads"];
                double gflops = ThroughputColumn.FlopsOf(type, shape) / statistics.Mean;
                rows.Add(new ResultRow(
                    type.Name.Replace("Benchmarks", "", StringComparison.Ordinal),
                    benchmark.Descriptor.WorkloadMethod.Name,
                    shape,
                    threads,
                    statistics.Mean,
                    gflops,
                    100 * gflops / FmaPeak.GflopsFor(threads),
                    report.GcStats.GetBytesAllocatedPerOperation(benchmark)));
            }
        }

        return rows;
    }

    /// <summary>
    /// Writes results.md and percent-of-peak.png into <paramref name="directory"/>: <paramref name="title"/> heads both,
    /// <paramref name="details"/> (how the run was made) and <paramref name="host"/> (BenchmarkDotNet's environment
    /// lines) go under the markdown's title. Returns the paths written.
    /// </summary>
    public static string[] Write(IReadOnlyList<ResultRow> rows, string directory, string title, string details, string host)
    {
        Directory.CreateDirectory(directory);
        string markdown = Path.Combine(directory, "results.md");
        File.WriteAllText(markdown, Markdown(rows, title, details, host));
        string chart = Path.Combine(directory, "percent-of-peak.png");
        PeakChart.Save(rows, chart, title);
        return new[] { markdown, chart };
    }

    public static IEnumerable<string> Ordered(IEnumerable<string> values, string[] order) =>
        values.Distinct().OrderBy(v => Array.IndexOf(order, v) is var i && i >= 0 ? i : int.MaxValue).ThenBy(v => v, StringComparer.Ordinal);

    /// <summary>The (shape, threads) groups present in <paramref name="rows"/>, in display order.</summary>
    public static List<(string Shape, int Threads)> Groups(IEnumerable<ResultRow> rows) =>
        rows.Select(r => (r.Shape, r.Threads)).Distinct()
            .OrderBy(g => Array.IndexOf(Shapes, g.Shape) is var i && i >= 0 ? i : int.MaxValue).ThenBy(g => g.Shape, StringComparer.Ordinal).ThenBy(g => g.Threads)
            .ToList();

    public static string Markdown(IReadOnlyList<ResultRow> rows, string title, string details, string host)
    {
        var text = new StringBuilder();
        var peak = FmaPeak.Value;
        text.AppendLine(Invariant($"# {title}"));
        text.AppendLine();
        text.AppendLine(details);
        text.AppendLine();
        text.AppendLine("```");
        text.AppendLine(host);
        text.AppendLine("```");
        text.AppendLine();
        text.AppendLine(Invariant($"FP32 FMA peak measured in this run ({peak.Width}): {peak.PerThread:0.0} GFLOP/s on one thread, {peak.AllThreads:0.0} on {Environment.ProcessorCount}."));
        text.AppendLine("Means from BenchmarkDotNet; each ratio divides two means of this run (above 1 means ours is faster); \"best\" is the fastest of our generated kernels for that row.");
        text.AppendLine("GFLOP/s counts attention as 4·seq²·dim and the FFN as 4·seq·dim·ffn; % of peak divides by the peak of the row's thread count.");
        text.AppendLine();
        text.AppendLine("![% of FMA peak per shape and engine](percent-of-peak.png)");

        foreach (string kernel in Ordered(rows.Select(r => r.Kernel), Kernels))
        {
            var kernelRows = rows.Where(r => r.Kernel == kernel).ToList();
            var engines = Ordered(kernelRows.Select(r => r.Engine), Engines).ToList();
            var ours = engines.Where(e => e.StartsWith("Generated", StringComparison.Ordinal)).ToList();
            string reference = engines.Contains("GeneratedPacked") ? "GeneratedPacked" : "Generated";
            string referenceLabel = reference == "GeneratedPacked" ? "packed" : "generated";
            ResultRow? Find(string engine, string shape, int threads) =>
                kernelRows.FirstOrDefault(r => r.Engine == engine && r.Shape == shape && r.Threads == threads);

            text.AppendLine();
            text.AppendLine(Invariant($"## {kernel}"));
            text.AppendLine();

            // Means and ratios, shaped like bench/README.md's tables.
            var ratios = new List<(string Header, string Numerator, string Denominator)>();
            if (engines.Contains("Generic") && engines.Contains("Generated"))
            {
                ratios.Add(("generic / generated", "Generic", "Generated"));
            }

            foreach (var (engine, label) in new[] { ("TensorPrimitives", "TensorPrimitives"), ("OnnxRuntime", "ONNX Runtime"), ("OnnxRuntimeStandardOps", "ONNX Runtime standard ops") })
            {
                if (engines.Contains(engine) && engines.Contains(reference))
                {
                    ratios.Add(($"{label} / {referenceLabel}", engine, reference));
                }
            }

            text.Append("| shape | threads |");
            engines.ForEach(e => text.Append(Invariant($" {e} |")));
            ratios.ForEach(r => text.Append(Invariant($" {r.Header} |")));
            text.AppendLine(" best GFLOP/s (% of peak) |");
            text.Append("|---|---|");
            text.Append(string.Concat(Enumerable.Repeat("---:|", engines.Count + ratios.Count + 1)));
            text.AppendLine();
            foreach (var (shape, threads) in Groups(kernelRows))
            {
                text.Append(Invariant($"| {shape} | {threads} |"));
                foreach (string engine in engines)
                {
                    text.Append(Invariant($" {(Find(engine, shape, threads) is { } row ? Time(row.MeanNanoseconds) : "–")} |"));
                }

                foreach (var (_, numerator, denominator) in ratios)
                {
                    var (n, d) = (Find(numerator, shape, threads), Find(denominator, shape, threads));
                    text.Append(n is not null && d is not null ? Invariant($" {n.MeanNanoseconds / d.MeanNanoseconds:0.00}× |") : " – |");
                }

                ResultRow? best = kernelRows.Where(r => ours.Contains(r.Engine) && r.Shape == shape && r.Threads == threads).MinBy(r => r.MeanNanoseconds);
                text.AppendLine(best is null ? " – |" : Invariant($" {best.Gflops:0.0} ({best.PercentOfPeak:0} %) |"));
            }

            // % of peak per engine: the chart's numbers.
            text.AppendLine();
            text.AppendLine("% of FMA peak per engine:");
            text.AppendLine();
            text.Append("| shape | threads |");
            engines.ForEach(e => text.Append(Invariant($" {e} |")));
            text.AppendLine();
            text.Append("|---|---|");
            text.Append(string.Concat(Enumerable.Repeat("---:|", engines.Count)));
            text.AppendLine();
            foreach (var (shape, threads) in Groups(kernelRows))
            {
                text.Append(Invariant($"| {shape} | {threads} |"));
                foreach (string engine in engines)
                {
                    text.Append(Find(engine, shape, threads) is { } row ? Invariant($" {row.Gflops:0.0} GFLOP/s ({row.PercentOfPeak:0} %) |") : " – |");
                }

                text.AppendLine();
            }

            var threadCounts = kernelRows.Select(r => r.Threads).Distinct().Order().ToList();
            text.AppendLine();
            text.Append(Invariant($"Allocated per call ({string.Join(" / ", threadCounts.Select(t => t == 1 ? "1 thread" : $"{t} threads"))}):"));
            text.AppendLine(string.Join(",", engines.Select(e =>
                " " + e + " " + string.Join(" / ", threadCounts.Select(t => Allocated(kernelRows.Where(r => r.Engine == e && r.Threads == t)))))));
        }

        return text.ToString();
    }

    /// <summary>Like bench/README.md: 316 ns, 4.2 µs, 332.9 µs, 7.61 ms.</summary>
    public static string Time(double nanoseconds) => nanoseconds switch
    {
        < 1e3 => Invariant($"{nanoseconds:0} ns"),
        < 1e6 => Invariant($"{nanoseconds / 1e3:0.0} µs"),
        _ => Invariant($"{nanoseconds / 1e6:0.00} ms"),
    };

    /// <summary>"-" when no row allocates (as BenchmarkDotNet prints it), else the range over the rows' shapes.</summary>
    private static string Allocated(IEnumerable<ResultRow> rows)
    {
        var bytes = rows.Select(r => r.AllocatedBytes).ToList();
        if (bytes.Count == 0 || bytes.Any(b => b is null))
        {
            return "?";
        }

        long min = bytes.Min(b => b!.Value), max = bytes.Max(b => b!.Value);
        return max == 0 ? "-" : min == max ? Bytes(max) : $"{Bytes(min)}–{Bytes(max)}";
    }

    private static string Bytes(long bytes) => bytes switch
    {
        0 => "0 B",
        < 1024 => Invariant($"{bytes} B"),
        _ => Invariant($"{bytes / 1024.0:0.0} KiB"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
