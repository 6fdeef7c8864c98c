using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Demo;

// dotnet run -c Release --project src/FixedShapeAttention.Demo
// dotnet run -c Release --project src/FixedShapeAttention.Demo -- embed "A man is eating food." "A man is eating a piece of bread."
// dotnet run -c Release --project src/FixedShapeAttention.Demo -- train [--steps 300] [--out train-output]
// dotnet run -c Release --project src/FixedShapeAttention.Demo -- generate "prompt" [--tokens N] [--temperature T] [--seed S]
Console.WriteLine($"FixedShapeAttention demo: .NET {Environment.Version}, {Environment.ProcessorCount} cores, " +
                  $"widest vectors: {(Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128 (kernels use scalar code)" : "none (scalar)")}");
Console.WriteLine();
if (args.Length > 0 && args[0] == "embed")
{
    return EmbedCommand.Run(args.AsSpan(1).ToArray());
}

if (args.Length > 0 && args[0] == "train")
{
    return TrainCommand.Run(args.AsSpan(1).ToArray());
}

if (args.Length > 0 && args[0] == "generate")
{
    return GenerateCommand.Run(args.AsSpan(1).ToArray());
}

WorkedExampleTable.Print();
if (!args.AsSpan().Contains("--no-timing"))
{
    TimingTable.Print();
}

return 0;
