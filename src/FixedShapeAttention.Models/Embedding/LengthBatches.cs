using System;
using System.Collections.Generic;

namespace FixedShapeAttention.Models;

/// <summary>One forward pass: <see cref="Count"/> sequences from position <see cref="Start"/> of the length-sorted order, padded to <see cref="Bucket"/>.</summary>
internal readonly record struct LengthBatch(int Start, int Count, int BucketIndex, int Bucket);

/// <summary>
/// Groups sequences by padded length. The caller's sequences are sorted by token count (ties keep the caller's
/// order, so the plan is deterministic), each bucket's sequences are cut into batches of at most
/// <c>max(1, tokenBudget / bucket)</c>, and every batch pads only to its own bucket. A list of 1,000 short texts and
/// one long one thus runs 1,000 short sequences and one long one, not 1,001 long ones.
/// </summary>
internal static class LengthBatches
{
    /// <summary>The positions of <paramref name="tokenCounts"/> in ascending count order, ties in input order.</summary>
    public static int[] SortedOrder(ReadOnlySpan<int> tokenCounts)
    {
        var order = new int[tokenCounts.Length];
        var keys = new long[tokenCounts.Length];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
            // Count in the high bits, position in the low: an unstable sort on these keys is a stable sort on counts.
            keys[i] = ((long)tokenCounts[i] << 32) | (uint)i;
        }

        Array.Sort(keys, order);
        return order;
    }

    /// <summary>The batches over <paramref name="order"/> (from <see cref="SortedOrder"/>).</summary>
    /// <param name="buckets">Ascending bucket lengths; every count is at most the last.</param>
    public static List<LengthBatch> Plan(ReadOnlySpan<int> tokenCounts, ReadOnlySpan<int> order, ReadOnlySpan<int> buckets, int tokenBudget)
    {
        var batches = new List<LengthBatch>();
        int start = 0;
        while (start < order.Length)
        {
            int bucketIndex = BucketIndex(buckets, tokenCounts[order[start]]);
            int bucket = buckets[bucketIndex];
            int capacity = Math.Max(1, tokenBudget / bucket);
            int end = start;
            while (end < order.Length && end - start < capacity && BucketIndex(buckets, tokenCounts[order[end]]) == bucketIndex)
            {
                end++;
            }

            batches.Add(new LengthBatch(start, end - start, bucketIndex, bucket));
            start = end;
        }

        return batches;
    }

    /// <summary>The index of the smallest bucket that holds <paramref name="tokens"/>, or the last bucket.</summary>
    public static int BucketIndex(ReadOnlySpan<int> buckets, int tokens)
    {
        for (int i = 0; i < buckets.Length; i++)
        {
            if (tokens <= buckets[i])
            {
                return i;
            }
        }

        return buckets.Length - 1;
    }
}
