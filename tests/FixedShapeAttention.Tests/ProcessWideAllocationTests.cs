using System;
using FixedShapeAttention;
using Xunit;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Encoder;
using FixedShapeAttention.Training;

namespace FixedShapeAttention.Tests;

/// <summary>Runs alone: its measurements count every thread's allocations, which other tests would disturb.</summary>
[CollectionDefinition(nameof(ProcessWideMeasurements), DisableParallelization = true)]
public sealed class ProcessWideMeasurements;

/// <summary>
/// Steady-state parallel calls allocate nothing on any thread: the worker pool takes the job from the caller's stack
/// and workers keep their scratch. Counted process-wide (GC.GetTotalAllocatedBytes), so worker threads are included.
/// </summary>
[Collection(nameof(ProcessWideMeasurements))]
public class ProcessWideAllocationTests
{
    [Fact]
    public void Parallel_kernel_calls_and_encoder_forward_passes_allocate_nothing_after_the_first()
    {
        var setup = EncoderSetup.For(nameof(MiniLm), layers: 2, LayerNormPlacement.PostNorm, seed: 3);
        TransformerShape shape = setup.Shape;
        float[] input = TestData.Uniform(2 * shape.SequenceElements, seed: 9);
        int[] counts = { shape.SequenceLength, 50 };
        var output = new float[input.Length];
        var attention = TestData.Attention(shape, 2, seed: 4);
        var projection = MiniLm.PackProjection(setup.Parameters[0].QueryWeight, setup.Parameters[0].QueryBias);

        void RunAll()
        {
            MiniLm.Attention(attention.Q, attention.K, attention.V, output, -1);
            MiniLm.Attention(attention.Q, attention.K, attention.V, counts, output, -1);
            MiniLm.Project(input, projection, output, -1);
            MiniLm.FeedForward(input, setup.Layers[0].FeedForward, output, -1);
            setup.Encoder.Forward(input, counts, output, -1);
        }

        long allocated = AllocatedOverFiveRoundsAfterTwo(RunAll);
        Assert.True(allocated == 0, $"5 rounds of parallel kernel calls and encoder passes allocated {allocated} bytes.");
    }

    /// <summary>Decode steps on every processor (the default), at batch 1 (calls below the hand-off threshold) and
    /// batch 8 (projections and attention chunks shared with the workers), the demo model's size.</summary>
    [Fact]
    public void Decode_steps_on_every_thread_allocate_nothing_after_the_first()
    {
        var model = new TransformerLanguageModel(new LanguageModelConfig
        {
            Vocabulary = 256, SequenceLength = 128, Dim = 128, Heads = 4, Ffn = 512, Layers = 4,
        });
        model.Initialize(3);
        var decoder = new LanguageModelDecoder(model, maxSequences: 9);
        var logits = new float[8 * model.Config.Vocabulary];
        int[] prompt = [5, 9, 14, 2, 7, 33, 61, 8];
        int[] one = [8], oneToken = [21], eight = [0, 1, 2, 3, 4, 5, 6, 7], eightTokens = [1, 2, 3, 4, 5, 6, 7, 8];

        void Round()
        {
            for (int s = 0; s < 9; s++)
            {
                decoder.Reset(s);
                decoder.Prefill(s, prompt, logits.AsSpan(0, model.Config.Vocabulary));
            }

            for (int step = 0; step < 4; step++)
            {
                decoder.DecodeStep(one, oneToken, logits.AsSpan(0, model.Config.Vocabulary));
                decoder.DecodeStep(eight, eightTokens, logits);
            }
        }

        long allocated = AllocatedOverFiveRoundsAfterTwo(Round);
        Assert.True(allocated == 0, $"5 rounds of prefills and batch-1 and batch-8 decode steps on every thread allocated {allocated} bytes.");
    }

    /// <summary>Every thread's bytes over five rounds, after two that warm the JIT, the workers and their scratch.</summary>
    private static long AllocatedOverFiveRoundsAfterTwo(Action round)
    {
        round();
        round();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 5; i++)
        {
            round();
        }

        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }
}
