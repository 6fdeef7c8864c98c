using System;
using System.Linq;
using FixedShapeAttention.Decoding;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

[Collection(nameof(ProcessWideMeasurements))]
public sealed class TokenSamplerTests
{
    private const int Draws = 40_000;

    private static float[] LogitsOf(params double[] probabilities) => probabilities.Select(p => (float)Math.Log(p)).ToArray();

    private static double[] Frequencies(TokenSampler sampler, float[] logits)
    {
        var counts = new double[logits.Length];
        for (int i = 0; i < Draws; i++)
            counts[sampler.Sample(logits)]++;
        return counts.Select(c => c / Draws).ToArray();
    }

    /// <summary>Each frequency within 5 standard deviations of its binomial expectation: a wrong distribution (a
    /// missed renormalisation, an off-by-one in the walk) is off by far more at 40,000 draws, and the fixed seed makes
    /// the check repeatable.</summary>
    private static void AssertDistribution(double[] expected, double[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double sigma = Math.Sqrt(expected[i] * (1 - expected[i]) / Draws);
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 5 * sigma + 1e-12, $"token {i}: {actual[i]:F4} drawn, {expected[i]:F4} expected");
        }
    }

    [Fact]
    public void Greedy_takes_the_most_likely_token_and_the_lowest_id_among_ties()
    {
        var sampler = new TokenSampler(SamplingOptions.Greedy, seed: 1);
        Assert.Equal(2, sampler.Sample([0.5f, 1f, 3f, -2f, 3f]));
        Assert.Equal(0, sampler.Sample([float.NegativeInfinity]));
        Assert.Equal(1, new TokenSampler(new SamplingOptions(), 1).Sample([0f, float.PositiveInfinity, 5f]));
    }

    [Fact]
    public void Temperature_one_draws_from_the_softmax()
    {
        double[] p = [0.1, 0.2, 0.3, 0.4];
        AssertDistribution(p, Frequencies(new TokenSampler(new SamplingOptions(), seed: 7), LogitsOf(p)));
    }

    [Fact]
    public void Temperature_divides_the_logits()
    {
        double[] p = [0.1, 0.2, 0.3, 0.4];
        // softmax(log p / 0.5) ∝ p².
        double[] squared = p.Select(x => x * x / p.Sum(y => y * y)).ToArray();
        AssertDistribution(squared, Frequencies(new TokenSampler(new SamplingOptions { Temperature = 0.5f }, seed: 8), LogitsOf(p)));
    }

    [Fact]
    public void Top_k_keeps_the_k_most_likely_tokens_renormalised()
    {
        float[] logits = LogitsOf(0.3, 0.1, 0.4, 0.2);
        AssertDistribution([3.0 / 7, 0, 4.0 / 7, 0], Frequencies(new TokenSampler(new SamplingOptions { TopK = 2 }, seed: 9), logits));
    }

    [Fact]
    public void Top_p_keeps_the_smallest_prefix_reaching_p()
    {
        float[] logits = LogitsOf(0.3, 0.1, 0.4, 0.2);
        // Most likely first: 0.4, 0.3 (0.7 ≥ 0.6), so tokens 2 and 0.
        AssertDistribution([3.0 / 7, 0, 4.0 / 7, 0], Frequencies(new TokenSampler(new SamplingOptions { TopP = 0.6f }, seed: 10), logits));
        // A p below the best token's share keeps that token alone.
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(2, new TokenSampler(new SamplingOptions { TopP = 0.1f }, 11).Sample(logits)));
    }

    [Fact]
    public void Top_k_then_top_p_apply_in_that_order()
    {
        // Top-2 of [0.35, 0.05, 0.35, 0.25] keeps tokens 0 and 2 (equal: lower id first), each 1/2; p = 0.5 then keeps token 0.
        float[] logits = LogitsOf(0.35, 0.05, 0.35, 0.25);
        var sampler = new TokenSampler(new SamplingOptions { TopK = 2, TopP = 0.5f }, seed: 12);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(0, sampler.Sample(logits)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_tokens_and_another_seed_other_ones()
    {
        float[] logits = TestData.Uniform(1000, 3, 4f);
        var options = new SamplingOptions { Temperature = 0.8f, TopK = 50, TopP = 0.9f };
        var a = new TokenSampler(options, seed: 42);
        var b = new TokenSampler(options, seed: 42);
        var c = new TokenSampler(options, seed: 43);
        int[] fromA = Enumerable.Range(0, 64).Select(_ => a.Sample(logits)).ToArray();
        int[] fromB = Enumerable.Range(0, 64).Select(_ => b.Sample(logits)).ToArray();
        int[] fromC = Enumerable.Range(0, 64).Select(_ => c.Sample(logits)).ToArray();
        Assert.Equal(fromA, fromB);
        Assert.NotEqual(fromA, fromC);
    }

    [Fact]
    public void A_large_vocabulary_with_top_k_draws_only_from_the_k_best_and_allocates_nothing_once_warm()
    {
        float[] logits = TestData.Uniform(50_257, 5, 6f);
        int[] best = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(40).ToArray();
        var sampler = new TokenSampler(new SamplingOptions { TopK = 40, TopP = 0.95f }, seed: 13);
        var drawn = new int[200];
        // Enough calls for tiered compilation to have promoted the sampler before anything is measured.
        for (int i = 0; i < 100; i++)
            sampler.Sample(logits);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < drawn.Length; i++)
            drawn[i] = sampler.Sample(logits);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.All(drawn, t => Assert.Contains(t, best));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Rows_nothing_can_be_drawn_from_and_bad_options_are_rejected()
    {
        var sampler = new TokenSampler(new SamplingOptions(), 1);
        Assert.Throws<ArgumentException>(() => sampler.Sample([]));
        Assert.Throws<ArgumentException>(() => sampler.Sample([1f, float.NaN]));
        Assert.Throws<ArgumentException>(() => sampler.Sample([float.NegativeInfinity, float.NegativeInfinity]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { Temperature = -1f }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { TopK = -1 }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { TopP = 0f }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(new SamplingOptions { TopP = float.NaN }, 1));
        Assert.Throws<ArgumentNullException>(() => new TokenSampler(null!, 1));
    }
}
