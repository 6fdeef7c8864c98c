using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace FixedShapeAttention.Benchmarks;

/// <summary>MemoryDiagnoser plus the GFLOP/s and % of peak columns, for every kernel benchmark.</summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new ThroughputColumn(percentOfPeak: false), new ThroughputColumn(percentOfPeak: true));
    }
}
