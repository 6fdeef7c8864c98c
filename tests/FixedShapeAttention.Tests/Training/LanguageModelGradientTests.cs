using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>The float32 training step against the float64 reference model on the same parameters.</summary>
public sealed class LanguageModelGradientTests
{
    public static TheoryData<bool, bool, bool, Activation, int, bool> Variants => new()
    {
        { true, true, true, Activation.GeluTanh, 0, false },
        { false, false, false, Activation.Gelu, 0, false },
        { true, true, false, Activation.Silu, 0, false },
        { false, true, true, Activation.Relu, 0, false },
        { true, true, true, Activation.Silu, 1, true },     // multi-query attention with RoPE
        { true, false, false, Activation.Gelu, 2, true },   // grouped-query (4 heads, 2 key/value heads), bidirectional
    };

    internal static (TransformerLanguageModel Model, ReferenceGpt Reference) Pair(GptConfig config, int seed)
    {
        var reference = new ReferenceGpt(config, seed);
        var model = new TransformerLanguageModel(new LanguageModelConfig
        {
            Vocabulary = config.Vocabulary, SequenceLength = config.SequenceLength, Dim = config.Dim, Heads = config.Heads, Ffn = config.Ffn,
            Layers = config.Layers, Causal = config.Causal, PreNorm = config.PreNorm, TiedEmbeddings = config.TiedEmbeddings,
            Activation = config.Activation, LayerNormEpsilon = (float)config.Epsilon,
            KeyValueHeads = config.KeyValueHeads, RotaryPositions = config.Rotary, RotaryTheta = config.Theta,
        });
        Assert.Equal(reference.Parameters.Select(p => p.Name), model.Parameters.Select(p => p.Name));
        foreach (var (name, value) in reference.Parameters)
        {
            float[] target = model.GetParameter(name).Value;
            for (int i = 0; i < value.Length; i++)
            {
                target[i] = (float)value[i];
                value[i] = target[i];
            }
        }

        return (model, reference);
    }

    internal static (int[] Tokens, int[] Targets) Batch(GptConfig config, int batch, int seed)
    {
        var random = new Random(seed);
        int[] tokens = Enumerable.Range(0, batch * config.SequenceLength).Select(_ => random.Next(config.Vocabulary)).ToArray();
        int[] targets = tokens.Select((_, i) => i % 7 == 3 ? SoftmaxCrossEntropy.IgnoreIndex : random.Next(config.Vocabulary)).ToArray();
        return (tokens, targets);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Loss_and_every_gradient_match_the_float64_reference(bool preNorm, bool causal, bool tied, Activation activation, int keyValueHeads, bool rotary)
    {
        var config = new GptConfig(Vocabulary: 11, SequenceLength: 8, Dim: 16, Heads: keyValueHeads == 2 ? 4 : 2, Ffn: 40, Layers: 2, causal, preNorm, tied, activation,
            KeyValueHeads: keyValueHeads, Rotary: rotary);
        var (model, reference) = Pair(config, seed: 5);
        var (tokens, targets) = Batch(config, batch: 3, seed: 6);

        AssertMatchesReference(model, reference, tokens, targets);
    }

    /// <summary>One ForwardBackward of <paramref name="model"/> against the reference's loss and every parameter's gradient.</summary>
    internal static void AssertMatchesReference(TransformerLanguageModel model, ReferenceGpt reference, int[] tokens, int[] targets)
    {
        double loss = model.ForwardBackward(tokens, targets);
        var (referenceLoss, referenceGradients) = reference.LossAndGradients(tokens, targets);

        Assert.Equal(referenceLoss, loss, 2e-6 * referenceLoss);
        // A tensor whose exact gradient is 0 (the key bias: softmax ignores a shift shared by a whole score row) gets
        // the rounding of the terms that cancel, which scale with the model's gradients as a whole.
        double globalScale = Math.Sqrt(referenceGradients.Values.Sum(g => g.Sum(x => x * x)) / referenceGradients.Values.Sum(g => g.Length));
        foreach (TrainableTensor p in model.Parameters)
        {
            double[] expected = referenceGradients[p.Name];
            double scale = Math.Max(Math.Sqrt(expected.Sum(g => g * g) / expected.Length), 1e-2 * globalScale);
            for (int i = 0; i < expected.Length; i++)
            {
                // Float32 products of depth ≤ 40 and LayerNorm's 1/σ amplification: 2e-5 of the tensor's RMS gradient
                // plus 2e-5 relative; measured worst 2.6e-6 of the RMS (2026-11-30).
                Assert.True(Math.Abs(p.Gradient[i] - expected[i]) <= 2e-5 * (scale + Math.Abs(expected[i])),
                    $"{p.Name}[{i}]: {p.Gradient[i]:E6} against {expected[i]:E6} (RMS {scale:E3})");
            }
        }
    }

    [Fact]
    public void Gradients_are_the_same_bits_for_every_thread_count_and_for_micro_batches() =>
        AssertSameBitsForEveryThreadCountAndMicroBatches(_ => { });

    /// <summary>
    /// The small causal model's gradients after one thread, every thread, and two micro-batches of whole sequences (one of
    /// them on every thread): the same bits. <paramref name="prepare"/> picks the kernels (nothing, or UseKernels).
    /// </summary>
    internal static void AssertSameBitsForEveryThreadCountAndMicroBatches(Action<TransformerLanguageModel> prepare)
    {
        var config = new GptConfig(Vocabulary: 13, SequenceLength: 16, Dim: 32, Heads: 4, Ffn: 64, Layers: 2);
        var (tokens, targets) = Batch(config, batch: 4, seed: 9);
        int scored = targets.Count(t => t != SoftmaxCrossEntropy.IgnoreIndex);

        float[][] Run(Action<TransformerLanguageModel> step)
        {
            var (model, _) = Pair(config, seed: 8);
            prepare(model);
            step(model);
            return model.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();
        }

        float[][] one = Run(m => m.ForwardBackward(tokens, targets, 0, 1));
        float[][] all = Run(m => m.ForwardBackward(tokens, targets, 0, -1));
        float[][] micro = Run(m =>
        {
            int half = tokens.Length / 2;
            m.ForwardBackward(tokens.AsSpan(0, half), targets.AsSpan(0, half), scored, -1);
            m.ForwardBackward(tokens.AsSpan(half), targets.AsSpan(half), scored, 1);
        });

        for (int p = 0; p < one.Length; p++)
        {
            Assert.True(one[p].SequenceEqual(all[p]), $"parameter {p}: 1 thread and all threads differ");
            Assert.True(one[p].Select(BitConverter.SingleToInt32Bits).SequenceEqual(micro[p].Select(BitConverter.SingleToInt32Bits)), $"parameter {p}: micro-batches differ");
        }
    }
}
