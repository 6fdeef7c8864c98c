using System;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Decoding;

/// <summary>
/// Chooses tokens from logits by <see cref="SamplingOptions"/>, reproducibly: the same seed, options and logits give
/// the same tokens on every machine and .NET version (the generator is SplitMix64, not <see cref="Random"/>, whose
/// algorithm may change). One sampler serves one sequence at a time; it allocates only when the vocabulary grows.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private SplitMix64 _random;
    private Candidate[] _candidates = [];

    /// <summary>A sampler with its own random stream.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public TokenSampler(SamplingOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = new SplitMix64(seed);
    }

    /// <summary>The options this sampler applies.</summary>
    public SamplingOptions Options => _options;

    /// <summary>The next token for one row of logits.</summary>
    /// <exception cref="ArgumentException">The row is empty, holds NaN, or is all −∞ (nothing can be chosen from it).</exception>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty)
            throw new ArgumentException("logits: expected at least one token, got an empty row.", nameof(logits));

        int best = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (float.IsNaN(logits[i]))
                throw new ArgumentException($"logits: element {i} is NaN.", nameof(logits));
            if (logits[i] > logits[best])
                best = i;
        }

        if (_options.Temperature == 0f || float.IsPositiveInfinity(logits[best]))
            return best;
        if (float.IsNegativeInfinity(logits[best]))
            throw new ArgumentException("logits: every element is -Infinity, so no token has any probability.", nameof(logits));

        int count = Candidates(logits);
        Span<Candidate> candidates = _candidates.AsSpan(0, count);

        // Probabilities relative to the best token, in double: exp((z − max)/T) ∈ (0, 1].
        double max = logits[best], temperature = _options.Temperature, total = 0;
        for (int i = 0; i < candidates.Length; i++)
        {
            candidates[i].Weight = Math.Exp((candidates[i].Logit - max) / temperature);
            total += candidates[i].Weight;
        }

        if (_options.TopP < 1f)
        {
            double kept = 0;
            int m = 0;
            while (m < candidates.Length && kept < _options.TopP * total)
                kept += candidates[m++].Weight;
            candidates = candidates[..Math.Max(m, 1)];
            total = kept;
        }

        double target = _random.NextUnit() * total;
        for (int i = 0; i < candidates.Length - 1; i++)
        {
            target -= candidates[i].Weight;
            if (target < 0)
                return candidates[i].Token;
        }

        return candidates[^1].Token;
    }

    /// <summary>Fills the scratch with the tokens that survive top-k, most likely first (lower ids first among equal
    /// logits), and returns how many. Nucleus sampling needs the order; top-k alone gets it for free.</summary>
    private int Candidates(ReadOnlySpan<float> logits)
    {
        if (_candidates.Length < logits.Length)
            _candidates = new Candidate[logits.Length];
        Span<Candidate> all = _candidates.AsSpan(0, logits.Length);
        for (int i = 0; i < logits.Length; i++)
            all[i] = new Candidate(i, logits[i]);

        int keep = _options.TopK == 0 ? logits.Length : Math.Min(_options.TopK, logits.Length);
        if (keep < logits.Length)
        {
            // A min-heap of the best `keep` seen so far: O(V log k), no full sort of a large vocabulary.
            Span<Candidate> heap = all[..keep];
            for (int i = keep / 2 - 1; i >= 0; i--)
                SiftDown(heap, i);
            for (int i = keep; i < all.Length; i++)
            {
                if (Before(all[i], heap[0]))
                {
                    heap[0] = all[i];
                    SiftDown(heap, 0);
                }
            }

            all = heap;
        }

        all.Sort(static (a, b) => Before(a, b) ? -1 : Before(b, a) ? 1 : 0);
        return all.Length;
    }

    /// <summary>Whether <paramref name="a"/> ranks before <paramref name="b"/>: higher logit, then lower id.</summary>
    private static bool Before(in Candidate a, in Candidate b) => a.Logit > b.Logit || (a.Logit == b.Logit && a.Token < b.Token);

    private static void SiftDown(Span<Candidate> heap, int i)
    {
        while (true)
        {
            int worst = i, left = 2 * i + 1, right = left + 1;
            if (left < heap.Length && Before(heap[worst], heap[left]))
                worst = left;
            if (right < heap.Length && Before(heap[worst], heap[right]))
                worst = right;
            if (worst == i)
                return;
            (heap[i], heap[worst]) = (heap[worst], heap[i]);
            i = worst;
        }
    }

    private struct Candidate(int token, float logit)
    {
        public readonly int Token = token;
        public readonly float Logit = logit;
        public double Weight;
    }
}
