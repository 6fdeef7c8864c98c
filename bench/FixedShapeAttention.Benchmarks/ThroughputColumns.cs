using System;
using System.Globalization;
using BenchmarkDotNet.Columns;
using FixedShapeAttention;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// GFLOP/s of a kernel row (FLOPs of its shape and kernel over the mean time) and the same as a percentage of the FMA
/// peak of as many threads as the row uses, measured by <see cref="FmaPeak"/> in this run.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    private readonly bool _percentOfPeak;

    public ThroughputColumn(bool percentOfPeak) => _percentOfPeak = percentOfPeak;

    public string Id => _percentOfPeak ? "PercentOfPeak" : "GFLOPs";

    public string ColumnName => _percentOfPeak ? "% of peak" : "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => _percentOfPeak ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _percentOfPeak
        ? "GFLOP/s over the measured FP32 FMA peak of the row's thread count (16 independent Vector512 FMA chains per thread)"
        : "Floating-point operations per second: attention 4·seq²·dim, FFN 4·seq·dim·ffn, over the mean";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } statistics)
        {
            return "-";
        }

        string shape = (string)benchmarkCase.Parameters["Shape"];
        int threads = (int)benchmarkCase.Parameters["Threads"];
        double gflops = FlopsOf(benchmarkCase.Descriptor.Type, shape) / statistics.Mean;
        return _percentOfPeak
            ? (100 * gflops / FmaPeak.GflopsFor(threads)).ToString("0", CultureInfo.InvariantCulture)
            : gflops.ToString("0.0", CultureInfo.InvariantCulture);
    }

    /// <summary>The FLOPs of one call of <paramref name="benchmarkType"/>'s kernel on the named shape.</summary>
    public static double FlopsOf(Type benchmarkType, string shape)
    {
        TransformerShape declared = ShapeCase.ShapeOf(shape);
        return benchmarkType == typeof(AttentionBenchmarks)
            ? ShapeCase.AttentionFlopsOf(declared)
            : ShapeCase.FeedForwardFlopsOf(declared);
    }

    public override string ToString() => ColumnName;
}
