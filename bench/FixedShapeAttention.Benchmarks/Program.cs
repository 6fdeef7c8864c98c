using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using FixedShapeAttention.Benchmarks;

// Full run:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- full
//            (the same as -- --filter '*' --warmupCount 3 --iterationCount 10; any BenchmarkDotNet arguments work)
// Quick run: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- quick
// Same results as ONNX Runtime and TensorPrimitives:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- check
// FMA peak:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- peak
// Backward products of a training step, % of peak: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- training-gemms
//            (-- training-profile N runs N one-thread steps, for perf record; -- training-attention [N] times the generated
//             attention alone, or runs N forward + backward calls of it for perf record)
// Training against PyTorch: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- training-peer DIR,
//            then python3 bench/training-peer/torch_agreement.py DIR (see bench/README.md)
// Decoding against ONNX Runtime (same logits):  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- decode-check
// One ISA branch's feed-forward, % of that branch's peak: DOTNET_EnableAVX2=0 dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- ffn-branch
// Decode step against the read bandwidth:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- decode-bandwidth
//            (-- decode-profile N runs N one-thread batch-1 steps, positions 0 to the context and again, for perf record;
//             -- few-row-products times the decode step's streaming product against PanelGemm from 1 to 128 rows)
// Attention against ONNX Runtime on one thread (S0–S3, peak in the same process):  ... -- attention-1t
//            (-- attention-profile SHAPE N runs N one-thread generated attention calls, for perf record;
//             -- ffn-profile SHAPE N plain|packed [THREADS] the same for the feed-forward network's two overloads)
// A benchmark run ends by writing results.md and percent-of-peak.png to bench/results (-- full), bench/results/quick
// (-- quick) or bench/results/partial (any other arguments; not committed).
if (args.Length == 1 && args[0] == "peak")
{
    var (perThread, allThreads, width) = FmaPeak.Value;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FP32 FMA peak ({width}): {perThread:0.0} GFLOP/s on one thread, {allThreads:0.0} on {Environment.ProcessorCount}"));
    return;
}

if (args.Length == 1 && args[0] == "training-gemms")
{
    TrainingGemms.Run();
    return;
}

if (args.Length is 1 or 2 && args[0] == "training-attention")
{
    TrainingGemms.Attention(args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0);
    return;
}

if (args.Length == 2 && args[0] == "training-profile" && int.TryParse(args[1], out int profileSteps))
{
    TrainingGemms.ProfileSteps(profileSteps);
    return;
}

if (args.Length == 2 && args[0] == "training-peer")
{
    TrainingPeerExport.Run(args[1]);
    return;
}

if (args.Length == 3 && args[0] == "attention-profile" && int.TryParse(args[2], out int attentionCalls))
{
    var profiled = ShapeCase.Create(args[1]);
    for (int call = 0; call < attentionCalls; call++)
    {
        profiled.GeneratedAttention(profiled, 1);
    }

    return;
}

if (args.Length is 4 or 5 && args[0] == "ffn-profile" && int.TryParse(args[2], out int feedForwardCalls) && args[3] is "plain" or "packed")
{
    var profiled = ShapeCase.Create(args[1]);
    Action<ShapeCase, int> feedForward = args[3] == "plain" ? profiled.GeneratedFeedForward : profiled.GeneratedPackedFeedForward;
    int profileThreads = args.Length == 5 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
    var watch = System.Diagnostics.Stopwatch.StartNew();
    for (int call = 0; call < feedForwardCalls; call++)
    {
        feedForward(profiled, profileThreads);
    }

    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture, $"{args[1]} {args[3]}, {profileThreads} thread(s): {watch.Elapsed.TotalMilliseconds / feedForwardCalls:0.000} ms per call"));
    return;
}

if (args.Length == 1 && args[0] == "decode-check")
{
    // Our decoder and ONNX Runtime's past/present graph of the same model: prefill and decode logits side by side.
    Environment.ExitCode = DecodePeerCheck.Run() ? 0 : 1;
    return;
}

if (args.Length == 1 && args[0] == "few-row-products")
{
    FewRowProducts.Run();
    return;
}

if (args.Length == 1 && args[0] == "decode-bandwidth")
{
    DecodeBandwidth.Run();
    return;
}

if (args.Length == 2 && args[0] == "decode-profile" && int.TryParse(args[1], out int decodeSteps))
{
    DecodeBandwidth.ProfileSteps(decodeSteps);
    return;
}

if (args.Length == 1 && args[0] == "check")
{
    // The comparison is only fair if ONNX Runtime and the TensorPrimitives row loop compute the same function:
    // largest |difference| from the generated kernels per shape (the row loop on one thread and on two).
    foreach (string shape in new[] { "S0", "S1", "S2", "S3", "Odd" })
    {
        var c = ShapeCase.Create(shape);
        var rowLoop = new TensorPrimitivesKernels(c);
        long[] dims = { 1, c.Shape.SequenceLength, c.Shape.EmbeddingDim };
        var ours = new float[c.Output.Length];

        c.GeneratedAttention(c, -1);
        c.Output.CopyTo(ours, 0);
        using (var ort = new OnnxRuntimeRunner(OnnxGraphs.Attention(c), 2, new[] { ("q", c.Q), ("k", c.K), ("v", c.V) }, ("output", c.Output), dims))
        {
            ort.Run();
        }

        float attentionOnnx = MaxDifference(ours, c.Output);
        using (var ort = new OnnxRuntimeRunner(OnnxGraphs.AttentionStandardOps(c), 2, new[] { ("q", c.Q), ("k", c.K), ("v", c.V) }, ("output", c.Output), dims))
        {
            ort.Run();
        }

        float attentionOnnxStandardOps = MaxDifference(ours, c.Output);
        float attentionRowLoop = RowLoopDifference(ours, c.Output, rowLoop.Attention);

        c.GeneratedFeedForward(c, -1);
        c.Output.CopyTo(ours, 0);
        using (var ort = new OnnxRuntimeRunner(OnnxGraphs.FeedForward(c), 2, new[] { ("x", c.Q) }, ("y", c.Output), dims))
        {
            ort.Run();
        }

        float feedForwardOnnx = MaxDifference(ours, c.Output);
        float feedForwardRowLoop = RowLoopDifference(ours, c.Output, rowLoop.FeedForward);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{shape}: max |generated − ONNX Runtime| attention {attentionOnnx:E2} (standard ops {attentionOnnxStandardOps:E2}), feed-forward {feedForwardOnnx:E2}; " +
            $"max |generated − TensorPrimitives| attention {attentionRowLoop:E2}, feed-forward {feedForwardRowLoop:E2}"));
    }

    return;
}

var wall = Stopwatch.StartNew();
string started = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
if (args.Length == 1 && args[0] == "quick")
{
    // Two of the five shapes, every engine, both thread counts, in this process (no generated project to build),
    // 3 warmups and 5 iterations of 200 ms: about a minute and a half, for trying a change, not for the README.
    string[] quickShapes = { "S1", "S2" };
    Job quickJob = new Job("Quick")
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(5)
        .WithIterationTime(TimeInterval.FromMilliseconds(200));
    IConfig quickConfig = DefaultConfig.Instance
        .AddJob(quickJob)
        .AddFilter(new SimpleFilter(b => quickShapes.Contains((string)b.Parameters["Shape"])));
    Summary[] quick = BenchmarkRunner.Run(new[] { typeof(AttentionBenchmarks), typeof(FeedForwardBenchmarks) }, quickConfig);
    WriteResults(
        quick,
        Path.Combine(RunResults.DefaultDirectory, "quick"),
        $"Quick run (-- quick), {started}: noisy, not the full run",
        "`dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- quick`: shapes S1 and S2 only, every engine, "
        + "1 and 2 threads, in-process, 3 warmups and 5 iterations of 200 ms each. For trying a change; the README's tables "
        + "come from the full run. In-process, the allocation counts also catch other threads' allocations (tens of bytes).",
        wall);
    return;
}

if (args.Length == 1 && args[0] == "ffn-branch")
{
    // The feed-forward network of S2 and S3 on one thread in this process, like with like: plain arrays against ONNX Runtime
    // with the weights as inputs, prepacked against ONNX Runtime with initializers. Under an ISA knob (DOTNET_EnableAVX512=0,
    // DOTNET_EnableAVX2=0) the % of peak is of the peak measured under that knob.
    string[] branchShapes = { "S2", "S3" };
    string[] ours =
    {
        nameof(FeedForwardBenchmarks.Generated), nameof(FeedForwardBenchmarks.GeneratedPacked),
        nameof(FeedForwardBenchmarks.OnnxRuntimeWeightsAsInputs), nameof(FeedForwardBenchmarks.OnnxRuntime),
    };
    Job branchJob = new Job("Branch")
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(5)
        .WithIterationTime(TimeInterval.FromMilliseconds(250));
    IConfig branchConfig = DefaultConfig.Instance
        .AddJob(branchJob)
        .AddFilter(new SimpleFilter(b => branchShapes.Contains((string)b.Parameters["Shape"]) && (int)b.Parameters["Threads"] == 1
            && ours.Contains(b.Descriptor.WorkloadMethod.Name)));
    Summary[] branch = BenchmarkRunner.Run(new[] { typeof(FeedForwardBenchmarks) }, branchConfig);
    var (branchPeak, _, branchWidth) = FmaPeak.Value;
    WriteResults(
        branch,
        Path.Combine(RunResults.DefaultDirectory, "partial"),
        string.Create(CultureInfo.InvariantCulture, $"Feed-forward on the {branchWidth} branch (-- ffn-branch), {started}, peak {branchPeak:0.0} GFLOP/s on one thread"),
        "`[DOTNET_EnableAVX2=0] dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- ffn-branch`: S2 and S3, one thread, "
        + "plain arrays and prepacked weights against ONNX Runtime with the weights as inputs and as initializers, in-process, "
        + "3 warmups and 5 iterations of 250 ms each.",
        wall);
    return;
}

if (args.Length == 1 && args[0] == "attention-1t")
{
    // The attention targets are one-thread ratios: S0–S3, the generated kernel, the generic one and ONNX Runtime
    // (fused MultiHeadAttention), in this process, so the FMA peak in results.md is measured beside them.
    string[] shapes = { "S0", "S1", "S2", "S3" };
    string[] engines = { "Generated", "Generic", "OnnxRuntime" };
    Job job = new Job("OneThread")
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(3)
        .WithIterationCount(10)
        .WithIterationTime(TimeInterval.FromMilliseconds(250));
    IConfig config = DefaultConfig.Instance
        .AddJob(job)
        .AddFilter(new SimpleFilter(b => shapes.Contains((string)b.Parameters["Shape"]) && (int)b.Parameters["Threads"] == 1
            && engines.Contains(b.Descriptor.WorkloadMethod.Name)));
    Summary[] oneThread = { BenchmarkRunner.Run<AttentionBenchmarks>(config) };
    WriteResults(
        oneThread,
        Path.Combine(RunResults.DefaultDirectory, "partial"),
        $"Attention, one thread (-- attention-1t), {started}",
        "`dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- attention-1t`: S0–S3, generated, generic "
        + "and ONNX Runtime, one thread, in-process, 3 warmups and 10 iterations of 250 ms each." + Commit(),
        wall);
    return;
}

string[] switcherArgs = args.Length == 1 && args[0] == "full"
    ? new[] { "--filter", "*", "--warmupCount", "3", "--iterationCount", "10" }
    : args;
Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(FmaPeak).Assembly).Run(switcherArgs).ToArray();
// Only the full run owns bench/results: a filtered run (a Vector256 pass, one kernel) would otherwise replace the
// full run's tables and chart with its own few rows.
bool fullRun = args.Length == 1 && args[0] == "full";
WriteResults(
    summaries,
    fullRun ? RunResults.DefaultDirectory : Path.Combine(RunResults.DefaultDirectory, "partial"),
    fullRun ? $"Benchmark run, {started}" : $"Partial benchmark run, {started}: not the full run",
    $"`dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- {string.Join(' ', switcherArgs.Select(a => a.IndexOfAny(new[] { '*', '?', ' ', '[' }) >= 0 ? $"'{a}'" : a))}`{Commit()}.",
    wall);

// results.md and percent-of-peak.png from the run's own summaries; a failure here leaves BenchmarkDotNet's reports.
static void WriteResults(Summary[] summaries, string directory, string title, string details, Stopwatch wall)
{
    List<ResultRow> rows = RunResults.Collect(summaries);
    if (rows.Count == 0)
    {
        return;
    }

    try
    {
        string host = string.Join(Environment.NewLine, summaries[0].HostEnvironmentInfo.ToFormattedString());
        foreach (string path in RunResults.Write(rows, directory, title, details, host))
        {
            Console.WriteLine($"Written: {path}");
        }
    }
    catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or TypeInitializationException or DllNotFoundException)
    {
        Console.Error.WriteLine($"Could not write the results to {directory}: {exception.Message}");
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Wall time: {wall.Elapsed.TotalSeconds:0} s"));
}

// ", at commit abc1234" when git can tell, else nothing.
static string Commit()
{
    try
    {
        var start = new ProcessStartInfo("git", "rev-parse --short HEAD")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RunResults.DefaultDirectory is var d && Directory.Exists(Path.GetDirectoryName(d)) ? Path.GetDirectoryName(d)! : ".",
        };
        using Process git = Process.Start(start)!;
        string commit = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        return git.ExitCode == 0 && commit.Length > 0 ? $", at commit {commit}" : "";
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "";
    }
}

// The larger difference of the row loop's output on one thread and on two threads from ours.
static float RowLoopDifference(float[] ours, float[] output, Action<int> rowLoop)
{
    float max = 0;
    foreach (int threads in new[] { 1, 2 })
    {
        Array.Fill(output, float.NaN);
        rowLoop(threads);
        max = MathF.Max(max, MaxDifference(ours, output));
    }

    return max;
}

static float MaxDifference(float[] a, float[] b)
{
    float max = 0;
    for (int i = 0; i < a.Length; i++)
    {
        max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
    }

    return max;
}
