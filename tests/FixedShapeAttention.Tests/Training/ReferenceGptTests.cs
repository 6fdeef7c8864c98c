using System;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>The float64 reference's hand-written backward pass against the derivative of its own forward pass.</summary>
public sealed class ReferenceGptTests
{
    public static TheoryData<bool, bool, bool, Activation, int, bool> Variants => new()
    {
        { true, true, true, Activation.GeluTanh, 0, false },    // GPT-2: pre-norm, causal, tied embeddings
        { false, false, false, Activation.Gelu, 0, false },     // BERT-like: post-norm, bidirectional, untied head
        { true, true, false, Activation.Silu, 0, false },
        { true, true, true, Activation.Silu, 1, true },         // Llama-like: one key/value head for both, RoPE
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Gradients_agree_with_fourth_order_central_differences(bool preNorm, bool causal, bool tied, Activation activation, int keyValueHeads, bool rotary)
    {
        var config = new GptConfig(Vocabulary: 7, SequenceLength: 5, Dim: 8, Heads: 2, Ffn: 12, Layers: 2, causal, preNorm, tied, activation,
            KeyValueHeads: keyValueHeads, Rotary: rotary);
        var model = new ReferenceGpt(config, seed: 3);
        int[] tokens = [1, 4, 0, 6, 2, 3, 3, 5, 1, 0];
        int[] targets = [4, 0, 6, 2, SoftmaxCrossEntropy.IgnoreIndex, 3, 5, 1, 0, 6];
        var (loss, gradients) = model.LossAndGradients(tokens, targets);
        Assert.Equal(loss, model.Loss(tokens, targets));

        var random = new Random(1);
        int checkedCount = 0;
        foreach (var (name, value) in model.Parameters)
        {
            // Every element of small tensors; eight random ones of the larger.
            var indices = value.Length <= 16 ? Enumerable.Range(0, value.Length) : Enumerable.Range(0, 8).Select(_ => random.Next(value.Length));
            foreach (int i in indices)
            {
                const double H = 1e-3;
                double saved = value[i];
                double At(double offset)
                {
                    value[i] = saved + offset;
                    return model.Loss(tokens, targets);
                }

                double numeric = (-At(2 * H) + 8 * At(H) - 8 * At(-H) + At(-2 * H)) / (12 * H);
                value[i] = saved;
                double analytic = gradients[name][i];
                // The stencil's error is O(h⁴) ≈ 1e-12 and its rounding ~1e-13; 1e-6 relative is the bound.
                Assert.True(Math.Abs(numeric - analytic) <= 1e-6 * Math.Abs(analytic) + 1e-9,
                    $"{name}[{i}]: analytic {analytic:E6}, numeric {numeric:E6}");
                checkedCount++;
            }
        }

        Assert.True(checkedCount > 200);
    }

    [Fact]
    public void Causal_attention_ignores_later_tokens()
    {
        var config = new GptConfig(Vocabulary: 7, SequenceLength: 5, Dim: 8, Heads: 2, Ffn: 12, Layers: 1);
        var model = new ReferenceGpt(config, seed: 4);
        int ignore = SoftmaxCrossEntropy.IgnoreIndex;
        // Only the first position is scored: changing tokens after it must not change the loss.
        double a = model.Loss([1, 2, 3, 4, 5], [2, ignore, ignore, ignore, ignore]);
        double b = model.Loss([1, 6, 0, 0, 0], [2, ignore, ignore, ignore, ignore]);
        Assert.Equal(a, b);
    }
}
