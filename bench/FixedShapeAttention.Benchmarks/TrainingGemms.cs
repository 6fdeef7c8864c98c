using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using FixedShapeAttention.Kernels;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// <c>-- training-gemms</c>: the backward products of one training step of <see cref="TrainingPeerExport.Model"/>
/// (batch 8 × 128), each timed alone through the calls the model makes (<see cref="LinearGradients"/>; the bias
/// gradients, which are sums and not products, separately), then its forward products, as GFLOP/s and
/// % of the FMA peak measured in the same process; then the step's split into forward, backward and optimizer, with
/// the model on the kernels generated for <see cref="PeerGpt"/> as TrainingBenchmarks and -- training-peer run it.
/// Medians of seven timings of at least 100 ms each; the machine is shared, so read ratios taken in one run.
/// </summary>
internal static class TrainingGemms
{
    private const int Repeats = 7;

    public static void Run()
    {
        LanguageModelConfig c = TrainingPeerExport.Model;
        int n = TrainingPeerExport.Batch * c.SequenceLength, t = c.SequenceLength, d = c.Dim, f = c.Ffn, v = c.Vocabulary;
        var (peak1, peakAll, width) = FmaPeak.Value;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FP32 FMA peak ({width}): {peak1:0.0} GFLOP/s on one thread, {peakAll:0.0} on {Environment.ProcessorCount}"));
        Console.WriteLine();
        Console.WriteLine("| product | m×n×k | per step | 1 thread GFLOP/s | % of peak | 2 threads GFLOP/s | % of peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");

        var linears = new (string Name, int Inputs, int Outputs, int PerStep)[]
        {
            ("attn.wq/wk/wv/wo", d, d, 4 * c.Layers),
            ("ffn.w1", d, f, c.Layers),
            ("ffn.w2", f, d, c.Layers),
        };
        double weightedSeconds = 0, weightedFlops = 0, biasSeconds = 0;
        foreach (var (name, inputs, outputs, perStep) in linears)
        {
            float[] x = Data(n * inputs, 1), dy = Data(n * outputs, 2), w = Data(inputs * outputs, 3);
            float[] dw = new float[inputs * outputs], db = new float[outputs], dx = new float[n * inputs];
            long flops = 2L * n * inputs * outputs;
            // The bias gradient (db = Σ dy, sequence by sequence) is timed on its own: it is no product.
            biasSeconds += perStep * Seconds(() =>
            {
                for (int row = 0; row < n; row += t)
                    TrainingKernels.AccumulateBiasGradient(dy.AsSpan(row * outputs, t * outputs), db);
            });
            Row($"{name}: dW = xᵀ·dy", $"{inputs}×{outputs}×{n}", perStep, flops, peak1, peakAll,
                dop => LinearGradients.AccumulateWeights(x, dy, dw, default, n, inputs, outputs, t, dop),
                ref weightedSeconds, ref weightedFlops);
            Row($"{name}: dX = dy·Wᵀ", $"{n}×{inputs}×{outputs}", perStep, flops, peak1, peakAll,
                dop => LinearGradients.Input(dy, w, dx, n, inputs, outputs, false, dop), ref weightedSeconds, ref weightedFlops);
        }

        {
            // The tied head's embedding side, one accumulating product per sequence as TransformerLanguageModel.Backward
            // makes it (interleaved there with each sequence's embedding rows, so micro-batches add in the same order).
            float[] dz = Data(n * v, 4), h = Data(n * d, 5), de = new float[v * d];
            Row("tied head: dE += dZᵀ·h per sequence", $"{v}×{d}×{t}, ×{n / t}", 1, 2L * n * v * d, peak1, peakAll, dop =>
            {
                for (int row = 0; row < n; row += t)
                    PanelGemm.MultiplyAccumulateChained(dz.AsSpan(row * v, t * v), v, true, h.AsSpan(row * d, t * d), d, false, de, d, v, d, t, dop);
            }, ref weightedSeconds, ref weightedFlops);
        }

        {
            // The tied head's input gradient: dh = dZ·E, E [v, d] read as stored.
            float[] dz = Data(n * v, 4), e = Data(v * d, 5), dh = new float[n * d];
            Row("tied head: dh = dZ·E", $"{n}×{d}×{v}", 1, 2L * n * v * d, peak1, peakAll,
                dop => PanelGemm.Multiply(dz, v, false, e, d, false, dh, d, n, d, v, false, dop), ref weightedSeconds, ref weightedFlops);
        }

        Total("All backward products of a step (weighted by calls)", weightedFlops, weightedSeconds, peak1);

        // The forward products, y = x·W as the model's projections and the generated feed-forward network call them (the
        // biases and the activation are passes of their own, not timed here), and the tied head's logits z = h·Eᵀ.
        Console.WriteLine();
        Console.WriteLine("| forward product | m×n×k | per step | 1 thread GFLOP/s | % of peak | 2 threads GFLOP/s | % of peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        double forwardSeconds = 0, forwardFlops = 0;
        foreach (var (name, inputs, outputs, perStep) in linears)
        {
            float[] x = Data(n * inputs, 1), w = Data(inputs * outputs, 3), y = new float[n * outputs];
            Row($"{name}: y = x·W", $"{n}×{outputs}×{inputs}", perStep, 2L * n * inputs * outputs, peak1, peakAll,
                dop => PanelGemm.Multiply(x, inputs, false, w, outputs, false, y, outputs, n, outputs, inputs, false, dop), ref forwardSeconds, ref forwardFlops);
        }

        {
            float[] h = Data(n * d, 5), e = Data(v * d, 4), z = new float[n * v];
            Row("tied head: z = h·Eᵀ", $"{n}×{v}×{d}", 1, 2L * n * v * d, peak1, peakAll,
                dop => PanelGemm.Multiply(h, d, false, e, d, true, z, v, n, v, d, false, dop), ref forwardSeconds, ref forwardFlops);
        }

        Total("All forward products of a step", forwardFlops, forwardSeconds, peak1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Bias gradients of a step (not in the products above): {biasSeconds * 1e3:0.00} ms on one thread"));
        Split(c, n);
    }

    private static void Row(string name, string dims, int perStep, long flops, double peak1, double peakAll, Action<int> product, ref double weightedSeconds, ref double weightedFlops)
    {
        double one = Seconds(() => product(1)), two = Seconds(() => product(2));
        weightedSeconds += one * perStep;
        weightedFlops += (double)flops * perStep;
        double g1 = flops / one / 1e9, g2 = flops / two / 1e9;
        double peak2 = peakAll * Math.Min(2, Environment.ProcessorCount) / Environment.ProcessorCount;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {dims} | {perStep} | {g1:0.0} | {g1 / peak1:P0} | {g2:0.0} | {g2 / peak2:P0} |"));
    }

    /// <summary>Forward (the loss alone), forward + backward, and clipping + AdamW, one thread, medians in ms.</summary>
    private static void Split(LanguageModelConfig c, int n)
    {
        var model = new TransformerLanguageModel(c).UseKernels<PeerGpt>();
        model.Initialize(42);
        var trainer = new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.1f, Beta2 = 0.95f },
            new WarmupCosineSchedule(1e-4f, 1e-5f, 1, 1_000_000), maxGradientNorm: 1.0, microBatchSequences: 0);
        var random = new Random(5);
        int[] tokens = Enumerable.Range(0, n).Select(_ => random.Next(c.Vocabulary)).ToArray();
        int[] targets = tokens.Select(x => (x + 1) % c.Vocabulary).ToArray();
        int saved = KernelParallelism.DefaultMaxDegreeOfParallelism;
        KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
        try
        {
            double forward = Seconds(() => model.Loss(tokens, targets));
            double forwardBackward = Seconds(() =>
            {
                model.ZeroGradients();
                model.ForwardBackward(tokens, targets, 0, 1);
            });
            double optimizer = Seconds(() =>
            {
                double norm = GradientClipping.GlobalNorm(model.Parameters);
                trainer.Optimizer.Step(1e-5f, 1, GradientClipping.ClipFactor(norm, 1.0));
            });
            double step = Seconds(() => trainer.Step(tokens, targets, 1));
            // Attention alone (the kernels generated for PeerGpt, which the model runs), on the layers' shapes, times the layers.
            int batch = n / c.SequenceLength, kv = c.KeyValueDim;
            float[] q = Data(n * c.Dim, 6), k = Data(n * kv, 7), v = Data(n * kv, 8), o = new float[n * c.Dim], lse = new float[batch * c.Heads * c.SequenceLength];
            float[] dO = Data(n * c.Dim, 9), dQ = new float[n * c.Dim], dK = new float[n * kv], dV = new float[n * kv];
            PeerGpt.AttentionForTraining(q, k, v, o, lse, 1);
            double attentionForward = c.Layers * Seconds(() => PeerGpt.AttentionForTraining(q, k, v, o, lse, 1));
            double attentionBackward = c.Layers * Seconds(() => PeerGpt.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, 1));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"One thread: step {step * 1e3:0.0} ms = forward (with the loss) {forward * 1e3:0.0} ms + backward {(forwardBackward - forward) * 1e3:0.0} ms + zeroing, clipping and AdamW {(step - forwardBackward) * 1e3:0.0} ms (clip + AdamW alone {optimizer * 1e3:0.0} ms)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Attention (generated for PeerGpt, {c.Layers} layers): forward {attentionForward * 1e3:0.0} ms, backward {attentionBackward * 1e3:0.0} ms = {(attentionForward + attentionBackward) / step:P0} of the step"));
        }
        finally
        {
            KernelParallelism.DefaultMaxDegreeOfParallelism = saved;
        }
    }

    /// <summary>
    /// <c>-- training-attention [N]</c>: the generated attention of <see cref="PeerGpt"/> alone, one thread, the model's four
    /// layers' worth, as ms and as GFLOP/s of the causal count (each product over the T(T+1)/2 visible pairs) against the
    /// peak measured in the same process; with N, N forward + backward calls and nothing else, for perf record.
    /// </summary>
    public static void Attention(int profileCalls)
    {
        LanguageModelConfig c = TrainingPeerExport.Model;
        int n = TrainingPeerExport.Batch * c.SequenceLength, t = c.SequenceLength, batch = n / t, kv = c.KeyValueDim;
        float[] q = Data(n * c.Dim, 6), k = Data(n * kv, 7), v = Data(n * kv, 8), o = new float[n * c.Dim], lse = new float[batch * c.Heads * t];
        float[] dO = Data(n * c.Dim, 9), dQ = new float[n * c.Dim], dK = new float[n * kv], dV = new float[n * kv];
        if (profileCalls > 0)
        {
            for (int i = 0; i < profileCalls; i++)
            {
                PeerGpt.AttentionForTraining(q, k, v, o, lse, 1);
                PeerGpt.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, 1);
            }

            return;
        }

        var (peak1, _, width) = FmaPeak.Value;
        // One causal product of one layer: every (sequence, head) multiplies T(T+1)/2 visible pairs by HeadDim.
        double product = 2.0 * batch * c.Heads * (t * (t + 1) / 2) * (c.Dim / c.Heads);
        // A second of both calls first, so that the timings see the fully optimised code (tiering waits for calls to settle).
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed.TotalSeconds < 1)
        {
            PeerGpt.AttentionForTraining(q, k, v, o, lse, 1);
            PeerGpt.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, 1);
        }

        // The fastest of the seven timings, not the median: the other core's work (builds, the lead's runs) only adds time.
        double forward = c.Layers * Seconds(() => PeerGpt.AttentionForTraining(q, k, v, o, lse, 1), fastest: true);
        double backward = c.Layers * Seconds(() => PeerGpt.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, 1), fastest: true);
        double forwardRate = 2 * c.Layers * product / forward / 1e9, backwardRate = 5 * c.Layers * product / backward / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FP32 FMA peak ({width}): {peak1:0.0} GFLOP/s on one thread"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Attention (generated for PeerGpt, {c.Layers} layers, one thread, fastest of {Repeats}): forward {forward * 1e3:0.00} ms ({forwardRate:0.0} GFLOP/s causal, {forwardRate / peak1:P0}), " +
            $"backward {backward * 1e3:0.00} ms ({backwardRate:0.0} GFLOP/s causal, {backwardRate / peak1:P0}), together {(forward + backward) * 1e3:0.00} ms"));
    }

    /// <summary>Runs <paramref name="steps"/> one-thread training steps after five warm-up steps, for a profiler.</summary>
    public static void ProfileSteps(int steps)
    {
        LanguageModelConfig c = TrainingPeerExport.Model;
        int n = TrainingPeerExport.Batch * c.SequenceLength;
        var model = new TransformerLanguageModel(c).UseKernels<PeerGpt>();
        model.Initialize(42);
        var trainer = new LanguageModelTrainer(model, new AdamWOptions { WeightDecay = 0.1f, Beta2 = 0.95f },
            new WarmupCosineSchedule(1e-4f, 1e-5f, 1, 1_000_000), maxGradientNorm: 1.0, microBatchSequences: 0);
        var random = new Random(5);
        int[] tokens = Enumerable.Range(0, n).Select(_ => random.Next(c.Vocabulary)).ToArray();
        int[] targets = tokens.Select(x => (x + 1) % c.Vocabulary).ToArray();
        for (int i = 0; i < 5; i++)
            trainer.Step(tokens, targets, 1);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
            trainer.Step(tokens, targets, 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{steps} one-thread steps: {clock.Elapsed.TotalMilliseconds / steps:0.0} ms each"));
    }

    /// <summary>The median (or the fastest) of <see cref="Repeats"/> timings of enough calls for 100 ms, after a warm-up of the same.</summary>
    /// <summary>A group of products' one-thread total, as GFLOP, time, rate and share of the peak.</summary>
    private static void Total(string what, double flops, double seconds, double peak1)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {flops / 1e9:0.00} GFLOP in {seconds * 1e3:0.0} ms on one thread, {flops / seconds / 1e9:0.0} GFLOP/s = {flops / seconds / 1e9 / peak1:P0} of peak"));
    }

    private static double Seconds(Action action, bool fastest = false)
    {
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (clock.Elapsed.TotalMilliseconds < 100 || calls < 3)
        {
            action();
            calls++;
        }

        var times = new List<double>();
        for (int r = 0; r < Repeats; r++)
        {
            clock.Restart();
            for (int i = 0; i < calls; i++)
                action();
            times.Add(clock.Elapsed.TotalSeconds / calls);
        }

        times.Sort();
        return fastest ? times[0] : times[Repeats / 2];
    }

    private static float[] Data(int length, int seed)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (int i = 0; i < length; i++)
            data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }
}
