using BenchmarkDotNet.Running;

// Full run:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*'
// Quick run: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
