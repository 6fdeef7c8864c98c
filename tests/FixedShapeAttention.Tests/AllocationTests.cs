using System;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>Steady-state calls on the calling thread allocate nothing: scratch is per thread and reused.</summary>
/// <remarks>
/// In the serial collection: twice in some forty full runs, with the other classes running beside them, one of these
/// saw a few hundred bytes on the calling thread that no rerun reproduced; alone they measure only the kernels.
/// </remarks>
[Collection(nameof(ProcessWideMeasurements))]
public class AllocationTests
{
    [Theory]
    [InlineData(nameof(WorkedExample), "Generated")]
    [InlineData(nameof(WorkedExample), "Generic")]
    [InlineData(nameof(CausalSilu), "Generated")]
    [InlineData(nameof(CausalSilu), "Generic")]
    [InlineData(nameof(MiniLm), "Generated")]
    [InlineData(nameof(MiniLm), "Generic")]
    public void Sequential_calls_allocate_nothing_after_the_first(string shapeName, string engineName)
    {
        Engine engine = Engines.Get(shapeName, engineName);
        var attention = TestData.Attention(engine.Shape, batch: 1, seed: 3);
        var ffn = TestData.FeedForward(engine.Shape, batch: 1, seed: 4);
        var output = new float[attention.Q.Length];

        // Past tiered compilation's promotion (30 calls, then a background rejit) before anything is measured: a
        // third failure in a full run (MiniLm, Generic) came after a single warm-up call.
        for (int i = 0; i < 40; i++)
        {
            engine.Attention(attention.Q, attention.K, attention.V, output, 1);
            engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, output, 1);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            engine.Attention(attention.Q, attention.K, attention.V, output, 1);
        }

        long afterAttention = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, output, 1);
        }

        long afterFeedForward = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal((0L, 0L), (afterAttention - before, afterFeedForward - afterAttention));
    }

    [Fact]
    public void Sequential_packed_calls_allocate_nothing()
    {
        var inputs = TestData.FeedForward(MiniLm.Shape, 1, seed: 2);
        PackedFeedForwardWeights weights = MiniLm.PackFeedForward(inputs.W1, inputs.B1, inputs.W2, inputs.B2);
        var y = new float[inputs.X.Length];
        for (int i = 0; i < 40; i++)
        {
            MiniLm.FeedForward(inputs.X, weights, y, 1);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            MiniLm.FeedForward(inputs.X, weights, y, 1);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
