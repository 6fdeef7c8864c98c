using System;
using System.Globalization;
using BenchmarkDotNet.Running;
using FixedShapeAttention.Benchmarks;

// Full run:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*'
// Quick run: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*' --job short
// FMA peak:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- peak
if (args.Length == 1 && args[0] == "peak")
{
    var (perThread, allThreads, width) = FmaPeak.Value;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FP32 FMA peak ({width}): {perThread:0.0} GFLOP/s on one thread, {allThreads:0.0} on {Environment.ProcessorCount}"));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(FmaPeak).Assembly).Run(args);
