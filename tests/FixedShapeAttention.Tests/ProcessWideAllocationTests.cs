using System;
using FixedShapeAttention;
using Xunit;
using FixedShapeAttention.Encoder;

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

        RunAll();
        RunAll();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 5; i++)
        {
            RunAll();
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated == 0, $"5 rounds of parallel kernel calls and encoder passes allocated {allocated} bytes.");
    }
}
