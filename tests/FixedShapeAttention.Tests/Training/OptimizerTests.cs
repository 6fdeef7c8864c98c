using System;
using System.IO;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

public sealed class OptimizerTests
{
    // Lengths reach the 8-float vector loop, its scalar tail, and both together.
    private static readonly int[] s_lengths = [1, 7, 8, 9, 37, 256];

    private static TrainableTensor[] Parameters(int seed)
    {
        var parameters = new TrainableTensor[s_lengths.Length];
        for (int i = 0; i < s_lengths.Length; i++)
        {
            parameters[i] = new TrainableTensor($"p{i}", [s_lengths[i]], decaysWeights: i % 2 == 0);
            TestData.Uniform(s_lengths[i], seed + i).CopyTo(parameters[i].Value, 0);
        }

        return parameters;
    }

    private static void SetGradients(TrainableTensor[] parameters, int seed)
    {
        for (int i = 0; i < parameters.Length; i++)
            TestData.Uniform(parameters[i].Gradient.Length, seed * 100 + i, 0.5f).CopyTo(parameters[i].Gradient, 0);
    }

    /// <summary>torch.optim.AdamW's update in float64.</summary>
    private static void ReferenceStep(double[] p, double[] m, double[] v, float[] g, long t, double lr, AdamWOptions o, bool decays)
    {
        double c1 = 1 - Math.Pow(o.Beta1, t), c2 = Math.Sqrt(1 - Math.Pow(o.Beta2, t));
        for (int i = 0; i < p.Length; i++)
        {
            if (decays)
                p[i] *= 1 - lr * o.WeightDecay;
            m[i] = o.Beta1 * m[i] + (1 - o.Beta1) * g[i];
            v[i] = o.Beta2 * v[i] + (1 - o.Beta2) * (double)g[i] * g[i];
            p[i] -= lr / c1 * m[i] / (Math.Sqrt(v[i]) / c2 + o.Epsilon);
        }
    }

    [Fact]
    public void Ten_AdamW_steps_follow_the_float64_reference_of_torch_s_update()
    {
        var options = new AdamWOptions { WeightDecay = 0.1f };
        TrainableTensor[] parameters = Parameters(seed: 5);
        double[][] p = parameters.Select(x => x.Value.Select(f => (double)f).ToArray()).ToArray();
        double[][] m = parameters.Select(x => new double[x.Value.Length]).ToArray();
        double[][] v = parameters.Select(x => new double[x.Value.Length]).ToArray();
        var optimizer = new AdamW(parameters, options);
        var schedule = new WarmupCosineSchedule(1e-2f, 1e-3f, warmupSteps: 3, totalSteps: 10);

        for (int step = 0; step < 10; step++)
        {
            SetGradients(parameters, step);
            float lr = schedule.At(step);
            optimizer.Step(lr);
            for (int i = 0; i < parameters.Length; i++)
                ReferenceStep(p[i], m[i], v[i], parameters[i].Gradient, step + 1, lr, options, parameters[i].DecaysWeights);
        }

        Assert.Equal(10, optimizer.StepCount);
        for (int i = 0; i < parameters.Length; i++)
        {
            for (int j = 0; j < p[i].Length; j++)
            {
                // Each step rounds p, m and v once or twice in float: a few ulp of values in [−1, 1] over ten steps.
                Assert.True(Math.Abs(parameters[i].Value[j] - p[i][j]) <= 1e-6 + 1e-6 * Math.Abs(p[i][j]),
                    $"p{i}[{j}]: {parameters[i].Value[j]} against {p[i][j]}");
            }
        }
    }

    [Fact]
    public void The_first_step_moves_each_parameter_by_the_learning_rate_against_its_gradient_s_sign()
    {
        // With bias correction, m̂ = g and v̂ = g² at t = 1, so the update is lr·g/(|g| + ε): lr·sign(g) but for ε.
        TrainableTensor[] parameters = Parameters(seed: 9);
        SetGradients(parameters, 1);
        float[][] before = parameters.Select(x => (float[])x.Value.Clone()).ToArray();
        new AdamW(parameters, new AdamWOptions { WeightDecay = 0 }).Step(0.25f);
        for (int i = 0; i < parameters.Length; i++)
        {
            for (int j = 0; j < before[i].Length; j++)
            {
                double g = parameters[i].Gradient[j];
                Assert.Equal(before[i][j] - 0.25 * g / (Math.Abs(g) + 1e-8), parameters[i].Value[j], 1e-6);
            }
        }
    }

    [Fact]
    public void Weight_decay_shrinks_only_the_parameters_that_decay()
    {
        var decaying = new TrainableTensor("w", [9], decaysWeights: true);
        var kept = new TrainableTensor("b", [9], decaysWeights: false);
        Array.Fill(decaying.Value, 2f);
        Array.Fill(kept.Value, 2f);
        new AdamW([decaying, kept], new AdamWOptions { WeightDecay = 0.5f }).Step(0.1f);
        Assert.All(decaying.Value, x => Assert.Equal(2f * (1f - 0.1f * 0.5f), x));
        Assert.All(kept.Value, x => Assert.Equal(2f, x));
    }

    [Fact]
    public void A_small_decay_is_applied_without_the_bias_of_a_rounded_factor()
    {
        // lr·λ = 1e-6 is 16.8 float steps below 1: a factor 1 − lr·λ rounded to float decays by 1.5 % too much on average
        // over these values; the amount applied at full precision is off only by each result's own rounding.
        const int Count = 4096;
        var decaying = new TrainableTensor("w", [Count], decaysWeights: true);
        for (int i = 0; i < Count; i++)
            decaying.Value[i] = 0.5f + 1.5f * i / Count;
        float[] before = (float[])decaying.Value.Clone();
        const float LearningRate = 1e-3f, WeightDecay = 1e-3f;
        double amount = (double)LearningRate * WeightDecay;

        new AdamW([decaying], new AdamWOptions { WeightDecay = WeightDecay }).Step(LearningRate);

        double bias = 0;
        for (int i = 0; i < Count; i++)
            bias += ((before[i] - (double)decaying.Value[i]) / before[i] - amount) / amount;
        Assert.InRange(bias / Count, -0.002, 0.002);
    }

    [Fact]
    public void Optimizer_state_saved_in_a_checkpoint_resumes_bit_identically()
    {
        var options = new AdamWOptions();
        TrainableTensor[] a = Parameters(seed: 3);
        var optimizerA = new AdamW(a, options);
        for (int step = 0; step < 3; step++)
        {
            SetGradients(a, step);
            optimizerA.Step(1e-2f);
        }

        using var saved = new MemoryStream();
        Safetensors.Write(saved, a.Select(x => x.ToNamedTensor()).Concat(optimizerA.StateTensors()), optimizerA.StateMetadata());
        SafetensorsFile checkpoint = Safetensors.Read(new MemoryStream(saved.ToArray()));

        TrainableTensor[] b = Parameters(seed: 77);
        foreach (TrainableTensor parameter in b)
            checkpoint[parameter.Name].Data.CopyTo(parameter.Value, 0);
        var optimizerB = new AdamW(b, options);
        optimizerB.LoadState(checkpoint);
        Assert.Equal(3, optimizerB.StepCount);

        for (int step = 3; step < 5; step++)
        {
            SetGradients(a, step);
            SetGradients(b, step);
            optimizerA.Step(1e-2f);
            optimizerB.Step(1e-2f);
        }

        for (int i = 0; i < a.Length; i++)
            Assert.Equal(a[i].Value.Select(BitConverter.SingleToInt32Bits), b[i].Value.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_checkpoint_without_the_optimizer_state_is_refused_and_changes_nothing()
    {
        TrainableTensor[] parameters = Parameters(seed: 1);
        var optimizer = new AdamW(parameters, new AdamWOptions());
        SetGradients(parameters, 0);
        optimizer.Step(1e-2f);
        using var saved = new MemoryStream();
        Safetensors.Write(saved, optimizer.StateTensors().Where(t => t.Name != "p3.exp_avg_sq"), optimizer.StateMetadata());
        SafetensorsFile partial = Safetensors.Read(new MemoryStream(saved.ToArray()));

        var fresh = new AdamW(Parameters(seed: 1), new AdamWOptions());
        var error = Assert.Throws<InvalidDataException>(() => fresh.LoadState(partial));
        Assert.Contains("p3.exp_avg_sq", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, fresh.StepCount);
        Assert.All(fresh.StateTensors(), t => Assert.All(t.Data, x => Assert.Equal(0f, x)));
    }

    [Fact]
    public void Bad_hyperparameters_and_learning_rates_are_rejected()
    {
        TrainableTensor[] parameters = Parameters(seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(parameters, new AdamWOptions { Beta1 = 1f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(parameters, new AdamWOptions { Beta2 = -0.1f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(parameters, new AdamWOptions { Epsilon = 0f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(parameters, new AdamWOptions { WeightDecay = float.NaN }));
        Assert.Throws<ArgumentException>(() => new AdamW([parameters[0], parameters[0]], new AdamWOptions()));
        var optimizer = new AdamW(parameters, new AdamWOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.Step(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.Step(-1f));
        Assert.Equal(0, optimizer.StepCount);
    }

    [Fact]
    public void Clipping_by_global_norm_matches_the_float64_norm_and_scales_to_the_limit()
    {
        TrainableTensor[] parameters = Parameters(seed: 2);
        SetGradients(parameters, 4);
        double reference = Math.Sqrt(parameters.Sum(p => p.Gradient.Sum(g => (double)g * g)));

        double norm = GradientClipping.ClipByGlobalNorm(parameters, maxNorm: reference / 4);

        Assert.Equal(reference, norm, 1e-12 * reference);
        double after = Math.Sqrt(parameters.Sum(p => p.Gradient.Sum(g => (double)g * g)));
        Assert.Equal(reference / 4, after, 1e-6 * reference);
    }

    [Fact]
    public void Gradients_within_the_limit_are_left_bit_for_bit_and_a_NaN_norm_scales_nothing()
    {
        TrainableTensor[] parameters = Parameters(seed: 2);
        SetGradients(parameters, 4);
        float[][] before = parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();
        double norm = GradientClipping.ClipByGlobalNorm(parameters, maxNorm: 1e6);
        Assert.True(norm > 0);
        for (int i = 0; i < parameters.Length; i++)
            Assert.Equal(before[i], parameters[i].Gradient);

        parameters[3].Gradient[5] = float.NaN;
        Assert.True(double.IsNaN(GradientClipping.ClipByGlobalNorm(parameters, maxNorm: 1e-3)));
        Assert.Equal(before[0], parameters[0].Gradient);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(parameters, 0));
    }

    [Fact]
    public void An_update_that_applies_the_clipping_factor_is_the_bits_of_clipping_the_gradients_first()
    {
        // The trainer's path (the norm, then AdamW scaling each gradient as it reads it) against ClipByGlobalNorm followed
        // by a plain step, over steps that clip (a small limit) and steps that do not (a large one).
        var options = new AdamWOptions { WeightDecay = 0.1f };
        TrainableTensor[] clipped = Parameters(seed: 9), scaled = Parameters(seed: 9);
        var clippedOptimizer = new AdamW(clipped, options);
        var scaledOptimizer = new AdamW(scaled, options);
        for (int step = 0; step < 6; step++)
        {
            double maxNorm = step % 3 == 2 ? 1e6 : 0.3;
            SetGradients(clipped, step);
            SetGradients(scaled, step);
            float[][] unclipped = scaled.Select(p => (float[])p.Gradient.Clone()).ToArray();

            double clippedNorm = GradientClipping.ClipByGlobalNorm(clipped, maxNorm);
            clippedOptimizer.Step(1e-2f);
            double norm = GradientClipping.GlobalNorm(scaled);
            float factor = GradientClipping.ClipFactor(norm, maxNorm);
            scaledOptimizer.Step(1e-2f, 1, factor);

            Assert.Equal(clippedNorm, norm);
            Assert.Equal(maxNorm < 1, factor < 1f);
            for (int i = 0; i < clipped.Length; i++)
            {
                Assert.Equal(clipped[i].Value.Select(BitConverter.SingleToInt32Bits), scaled[i].Value.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(unclipped[i], scaled[i].Gradient);
            }
        }

        Assert.Equal(1f, GradientClipping.ClipFactor(double.NaN, 1.0));
        Assert.Equal(1f, GradientClipping.ClipFactor(0.5, 1.0));
    }

    [Fact]
    public void The_schedule_warms_up_linearly_then_follows_a_half_cosine_to_the_minimum()
    {
        var schedule = new WarmupCosineSchedule(1e-3f, 1e-4f, warmupSteps: 10, totalSteps: 110);
        Assert.Equal(1e-4f, schedule.At(0), 1e-9f);
        Assert.Equal(5e-4f, schedule.At(4), 1e-9f);
        Assert.Equal(1e-3f, schedule.At(9), 1e-9f);
        Assert.Equal(1e-3f, schedule.At(10), 1e-9f);
        Assert.Equal(5.5e-4f, schedule.At(60), 1e-9f);
        Assert.Equal(1e-4f, schedule.At(110));
        Assert.Equal(1e-4f, schedule.At(10_000));
        for (int step = 10; step < 110; step++)
            Assert.True(schedule.At(step + 1) <= schedule.At(step));

        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3f, 1e-2f, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3f, 0f, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.At(-1));
    }
}
