using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>The attention shape of <see cref="DecodingBenchmarks.CreateModel"/> (the train demo's model), declared for the generator.</summary>
[TransformerShape(128, 128, 512, Heads = 4, Causal = true, Activation = Activation.GeluTanh)]
public partial class DecodeGpt { }

/// <summary>The attention shape of <see cref="DecodeBandwidth"/>'s model that does not fit the cache, declared for the generator.</summary>
[TransformerShape(128, 768, 3072, Heads = 12, Causal = true, Activation = Activation.GeluTanh)]
public partial class DecodeGpt768 { }

/// <summary>
/// <c>-- decode-bandwidth</c>: a batch-1 decode step on one thread reads every weight once and its sequence's cache
/// once, so its speed is a bandwidth. Measures, in one process, the machine's read bandwidth with Vector512 loads
/// (eight independent accumulators) over a buffer the size of the step's reads (L3-resident, where the demo model's
/// weights sit between steps) and over 512 MiB (DRAM), then the step's time and the GB/s of weights and cache it
/// streams, as a share of each; then the same for a model five times the L3, whose weights stream from DRAM.
/// </summary>
public static class DecodeBandwidth
{
    public static void Run()
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
        TransformerLanguageModel model = DecodingBenchmarks.CreateModel();
        (long weightFloats, double cacheFloats) = StepFloats(model);
        double stepBytes = (weightFloats + cacheFloats) * sizeof(float);

        double cacheSized = ReadBandwidth((long)stepBytes);
        double dram = ReadBandwidth(512L << 20);
        double stepSeconds = StepSeconds(model, FirstPosition, Steps);
        double generatedSeconds = StepSeconds(model, FirstPosition, Steps, decoder => decoder.UseKernels<DecodeGpt>());
        double stepGigabytes = stepBytes / stepSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read bandwidth (Vector512 loads, one thread): {cacheSized:0.0} GB/s over {stepBytes / 1e6:0.00} MB (L3-resident), {dram:0.0} GB/s over 512 MiB (DRAM)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"decode step, batch 1, one thread, positions {FirstPosition}–{FirstPosition + Steps - 1}: {stepSeconds * 1e6:0.0} µs, reads {weightFloats * 4 / 1e6:0.00} MB of weights + {cacheFloats * 4 / 1e6:0.00} MB of cache = {stepGigabytes:0.0} GB/s, "
            + $"{100 * stepGigabytes / cacheSized:0} % of the L3-resident read bandwidth ({100 * stepGigabytes / dram:0} % of DRAM's)"));
        double generatedGigabytes = stepBytes / generatedSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same step with attention on DecodeGpt's generated DecodeStep: {generatedSeconds * 1e6:0.0} µs = {generatedGigabytes:0.0} GB/s, "
            + $"{100 * generatedGigabytes / cacheSized:0} % of the L3-resident read bandwidth"));

        RunMemoryBound(dram);
    }

    /// <summary>GPT-2-small-sized layers (dim 768, 12 heads, FFN 3072; 6 layers, 171 MB of weights, five times the L3),
    /// where a step streams its weights from DRAM: batch 1 and batch 8 against the DRAM read bandwidth, measured again
    /// right before and right after the batch-1 step (this host's DRAM rate moves with its neighbours' load) and the
    /// higher of the three taken, so that a dip in the reference does not flatter the step.</summary>
    private static void RunMemoryBound(double dramAtStart)
    {
        LanguageModelConfig config = LargeModelDecodingBenchmarks.Model;
        TransformerLanguageModel model = LargeModelDecodingBenchmarks.CreateModel();
        (long weightFloats, double cacheFloats) = StepFloats(model);
        double stepBytes = (weightFloats + cacheFloats) * sizeof(float);
        double dramBefore = ReadBandwidth(512L << 20);
        double stepSeconds = StepSeconds(model, FirstPosition, Steps);
        double dramAfter = ReadBandwidth(512L << 20);
        double dram = Math.Max(dramAtStart, Math.Max(dramBefore, dramAfter));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DRAM read bandwidth at the start, right before and right after the step: {dramAtStart:0.0}, {dramBefore:0.0}, {dramAfter:0.0} GB/s; the percentages below are of {dram:0.0}"));
        double gigabytes = stepBytes / stepSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DRAM-resident model (dim {config.Dim}, FFN {config.Ffn}, {config.Layers} layers), batch 1, one thread: {stepSeconds * 1e6:0.0} µs, reads {weightFloats * 4 / 1e6:0.0} MB of weights + {cacheFloats * 4 / 1e6:0.00} MB of cache = {gigabytes:0.0} GB/s, "
            + $"{100 * gigabytes / dram:0} % of the DRAM read bandwidth"));
        double generatedSeconds = StepSeconds(model, FirstPosition, Steps, decoder => decoder.UseKernels<DecodeGpt768>());
        double generatedGigabytes = stepBytes / generatedSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same step with attention on DecodeGpt768's generated DecodeStep: {generatedSeconds * 1e6:0.0} µs = {generatedGigabytes:0.0} GB/s, {100 * generatedGigabytes / dram:0} % of the DRAM read bandwidth"));
        KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
        double sharedSeconds = StepSeconds(model, FirstPosition, Steps);
        KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same step on {Environment.ProcessorCount} threads: {sharedSeconds * 1e6:0.0} µs = {stepBytes / sharedSeconds / 1e9:0.0} GB/s"));
        double batchSeconds = StepSeconds(model, FirstPosition, Steps, batch: 8);
        double batchGigabytes = (weightFloats + 8 * cacheFloats) * sizeof(float) / batchSeconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the same model, batch 8, one thread: {batchSeconds * 1e6:0.0} µs a step ({8 / batchSeconds:0} tokens/s), {batchGigabytes:0.0} GB/s, {100 * batchGigabytes / dram:0} % of the DRAM read bandwidth "
            + $"({2.0 * 8 * weightFloats / batchSeconds / 1e9:0.0} GFLOP/s in the products)"));
    }

    private const int FirstPosition = 64, Steps = 32;

    /// <summary>What one sequence's step reads: every parameter once except the embeddings (one row of the token and
    /// position tables, and the whole token table again as a tied head), and the keys and values of positions 0..p per
    /// layer, averaged over the timed steps p = 64..95.</summary>
    private static (long WeightFloats, double CacheFloats) StepFloats(TransformerLanguageModel model)
    {
        LanguageModelConfig c = model.Config;
        long weightFloats = model.Parameters.Where(p => !p.Name.StartsWith("embed.", StringComparison.Ordinal)).Sum(p => (long)p.Value.Length)
            + 2L * c.Dim + (c.TiedEmbeddings ? (long)c.Vocabulary * c.Dim : 0);
        double cacheFloats = 2.0 * c.Layers * c.KeyValueDim * (FirstPosition + (Steps - 1) / 2.0 + 1);
        return (weightFloats, cacheFloats);
    }

    /// <summary>Runs <paramref name="steps"/> batch-1 steps on one thread for <c>perf record</c>: steps only, no prefill,
    /// each sequence from position 0 to the context (mean position 64, near the timed steps' 64–95).</summary>
    public static void ProfileSteps(int steps)
    {
        KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
        TransformerLanguageModel model = DecodingBenchmarks.CreateModel();
        var decoder = new LanguageModelDecoder(model, 1);
        var logits = new float[model.Config.Vocabulary];
        int[] sequence = [0], token = [33];
        for (int done = 0; done < steps; done++)
        {
            if (decoder.Position(0) == model.Config.SequenceLength)
                decoder.Reset(0);
            decoder.DecodeStep(sequence, token, logits);
        }
    }

    /// <summary>The best of several timed groups of 32 steps from position <paramref name="first"/> (each group first
    /// prefills to it): the step as the weights stream from cache, without the prefill in between.</summary>
    private static double StepSeconds(TransformerLanguageModel model, int first, int steps, Action<LanguageModelDecoder>? useKernels = null, int batch = 1)
    {
        var decoder = new LanguageModelDecoder(model, batch);
        useKernels?.Invoke(decoder);
        int[] prompt = Enumerable.Range(0, first).Select(i => i % 200 + 32).ToArray();
        var logits = new float[batch * model.Config.Vocabulary];
        int[] sequence = Enumerable.Range(0, batch).ToArray(), token = Enumerable.Range(33, batch).ToArray();
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < 3)
        {
            for (int b = 0; b < batch; b++)
            {
                decoder.Reset(b);
                decoder.Prefill(b, prompt, logits.AsSpan(0, model.Config.Vocabulary));
            }

            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++)
                decoder.DecodeStep(sequence, token, logits);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds / steps);
        }

        return best;
    }

    private static double ReadBandwidth(long bytes)
    {
        int floats = (int)Math.Min(bytes / sizeof(float) / 128 * 128, Array.MaxLength / 128 * 128);
        float[] buffer = GC.AllocateArray<float>(floats, pinned: true);
        buffer.AsSpan().Fill(1f);
        long passes = Math.Max(2, (2L << 30) / bytes);
        double best = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            long start = Stopwatch.GetTimestamp();
            float sink = 0;
            for (long pass = 0; pass < passes; pass++)
                sink += Read(buffer);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            GC.KeepAlive(sink);
            best = Math.Max(best, passes * (double)floats * sizeof(float) / seconds / 1e9);
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Read(float[] buffer)
    {
        ref float p = ref MemoryMarshal.GetArrayDataReference(buffer);
        nuint floats = (nuint)buffer.Length;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nuint i = 0; i < floats; i += 128)
        {
            s0 += Vector512.LoadUnsafe(ref p, i); s1 += Vector512.LoadUnsafe(ref p, i + 16); s2 += Vector512.LoadUnsafe(ref p, i + 32); s3 += Vector512.LoadUnsafe(ref p, i + 48);
            s4 += Vector512.LoadUnsafe(ref p, i + 64); s5 += Vector512.LoadUnsafe(ref p, i + 80); s6 += Vector512.LoadUnsafe(ref p, i + 96); s7 += Vector512.LoadUnsafe(ref p, i + 112);
        }

        return Vector512.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
    }
}
