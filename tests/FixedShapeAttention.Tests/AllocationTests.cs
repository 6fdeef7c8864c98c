using System;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>Steady-state calls on the calling thread allocate nothing: scratch is per thread and reused.</summary>
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

        engine.Attention(attention.Q, attention.K, attention.V, output, 1);
        engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, output, 1);
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
}
