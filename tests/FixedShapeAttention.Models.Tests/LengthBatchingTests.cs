using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// Batching by length: the plan pads each group only to its own bucket and keeps to the token budget, and results
/// come back in the caller's order whatever the grouping.
/// </summary>
public sealed class LengthBatchingTests
{
    private static readonly int[] s_buckets = { 16, 32, 64, 128, 256 };

    [Fact]
    public void Many_short_texts_and_one_long_one_pad_the_long_one_only()
    {
        int[] counts = Enumerable.Repeat(9, 1000).Append(250).ToArray();
        int[] order = LengthBatches.SortedOrder(counts);

        List<LengthBatch> batches = LengthBatches.Plan(counts, order, s_buckets, tokenBudget: 4096);

        Assert.Equal(1000 * 16 + 256, batches.Sum(b => b.Count * b.Bucket));
        Assert.Equal(256, Assert.Single(batches, b => b.Bucket == 256).Bucket);
        Assert.All(batches, b => Assert.True(b.Count * b.Bucket <= 4096));
    }

    [Fact]
    public void Each_batch_holds_one_bucket_and_the_order_is_stable()
    {
        int[] counts = { 40, 3, 17, 3, 200, 16, 33, 2 };
        int[] order = LengthBatches.SortedOrder(counts);
        Assert.Equal(new[] { 7, 1, 3, 5, 2, 6, 0, 4 }, order);

        List<LengthBatch> batches = LengthBatches.Plan(counts, order, s_buckets, tokenBudget: 32);

        // 16: the texts of 2, 3, 3 and 16 tokens, two per 32-token batch; 32: one; 64: two, one per batch; 256: one, alone though over budget.
        Assert.Equal(
            new[] { (0, 2, 16), (2, 2, 16), (4, 1, 32), (5, 1, 64), (6, 1, 64), (7, 1, 256) },
            batches.Select(b => (b.Start, b.Count, b.Bucket)));
    }

    /// <summary>
    /// A text's bucket depends on its own length only, and the kernels give a sequence the same bits at any position of
    /// any batch, so an embedding is the same bits alone, among others, and under any token budget.
    /// </summary>
    [Fact]
    public void Embeddings_come_back_in_the_callers_order_with_the_bits_of_each_text_alone()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder small = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxTokensPerBatch = 16 });
        SentenceEncoder large = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxTokensPerBatch = 4096 });
        var random = new Random(11);
        string[] words = TinyModelDirectory.Vocabulary[5..19];
        string[] texts = Enumerable.Range(0, 40).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(0, 14)).Select(_ => words[random.Next(words.Length)]))).ToArray();

        float[][] inSmallBatches = small.Embed(texts, TestContext.Current.CancellationToken);
        float[][] inLargeBatches = large.Embed(texts, TestContext.Current.CancellationToken);

        for (int i = 0; i < texts.Length; i++)
        {
            float[] alone = small.Embed(new[] { texts[i] }, TestContext.Current.CancellationToken)[0];
            Assert.Equal(alone, inSmallBatches[i]);
            Assert.Equal(alone, inLargeBatches[i]);
        }
    }

    [Fact]
    public void An_empty_list_gives_no_embeddings_and_a_null_text_is_named()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        Assert.Empty(encoder.Embed(Array.Empty<string>(), TestContext.Current.CancellationToken));
        var error = Assert.Throws<ArgumentNullException>(() => encoder.Embed(new[] { "the cat", null! }, TestContext.Current.CancellationToken));
        Assert.Contains("sentences[1]", error.Message, StringComparison.Ordinal);
    }
}
