using System;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>The test models' attention shapes, declared for the generator (their FfnDim and activation match the models' too).</summary>
[TransformerShape(8, 16, 40, Heads = 2, Causal = true, Activation = Activation.GeluTanh)]
public partial class TinyCausalGpt { }

[TransformerShape(8, 16, 40, Heads = 2, Activation = Activation.Gelu)]
public partial class TinyBidirectional { }

[TransformerShape(16, 32, 64, Heads = 4, Causal = true, Activation = Activation.GeluTanh)]
public partial class SmallCausalGpt { }

/// <summary>A model whose attention runs on generated kernels (<see cref="TransformerLanguageModel.UseKernels{TKernels}"/>) against the float64 reference model.</summary>
public sealed class GeneratedKernelModelTests
{
    [Fact]
    public void Causal_model_on_generated_attention_matches_the_float64_reference() =>
        AssertMatchesReference(new GptConfig(Vocabulary: 11, SequenceLength: 8, Dim: 16, Heads: 2, Ffn: 40, Layers: 2), m => m.UseKernels<TinyCausalGpt>());

    [Fact]
    public void Bidirectional_post_norm_model_on_generated_attention_matches_the_float64_reference() =>
        AssertMatchesReference(
            new GptConfig(Vocabulary: 11, SequenceLength: 8, Dim: 16, Heads: 2, Ffn: 40, Layers: 2, Causal: false, PreNorm: false, TiedEmbeddings: false, Activation: Activation.Gelu),
            m => m.UseKernels<TinyBidirectional>());

    private static void AssertMatchesReference(GptConfig config, Action<TransformerLanguageModel> useKernels)
    {
        var (model, reference) = LanguageModelGradientTests.Pair(config, seed: 5);
        useKernels(model);
        var (tokens, targets) = LanguageModelGradientTests.Batch(config, batch: 3, seed: 6);

        LanguageModelGradientTests.AssertMatchesReference(model, reference, tokens, targets);
    }

    [Fact]
    public void Gradients_on_generated_attention_are_the_same_bits_for_every_thread_count_and_for_micro_batches() =>
        LanguageModelGradientTests.AssertSameBitsForEveryThreadCountAndMicroBatches(m => m.UseKernels<SmallCausalGpt>());

    [Fact]
    public void A_shape_that_does_not_match_the_model_is_rejected()
    {
        var model = new TransformerLanguageModel(new LanguageModelConfig { Vocabulary = 11, SequenceLength = 8, Dim = 16, Heads = 4, Ffn = 40, Layers = 1 });
        var error = Assert.Throws<ArgumentException>(() => model.UseKernels<TinyCausalGpt>());
        Assert.Contains("Heads 2", error.Message);
        var grouped = new TransformerLanguageModel(new LanguageModelConfig { Vocabulary = 11, SequenceLength = 8, Dim = 16, Heads = 2, KeyValueHeads = 1, Ffn = 40, Layers = 1 });
        Assert.Throws<ArgumentException>(() => grouped.UseKernels<TinyCausalGpt>());
    }
}

/// <summary>A step on the generated kernels allocates nothing once warm (measured on the calling thread, serially with the other allocation tests).</summary>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class GeneratedKernelAllocationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void A_forward_and_backward_pass_on_generated_kernels_allocates_nothing_once_warm(int maxDegreeOfParallelism)
    {
        var config = new GptConfig(Vocabulary: 13, SequenceLength: 16, Dim: 32, Heads: 4, Ffn: 64, Layers: 2);
        var (model, _) = LanguageModelGradientTests.Pair(config, seed: 8);
        model.UseKernels<SmallCausalGpt>();
        var (tokens, targets) = LanguageModelGradientTests.Batch(config, batch: 4, seed: 9);
        // Enough passes for tiered compilation to have promoted the methods before anything is measured.
        for (int i = 0; i < 40; i++)
            model.ForwardBackward(tokens, targets, 0, maxDegreeOfParallelism);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.ForwardBackward(tokens, targets, 0, maxDegreeOfParallelism);
        model.ForwardBackward(tokens, targets, 0, maxDegreeOfParallelism);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
