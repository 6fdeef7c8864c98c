using System;
using System.IO;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// A model size other than MiniLM's, declared in this project (<see cref="TinyBertShape"/>), loads from an ONNX file
/// written by the test and matches the float64 reference encoder, through every pooling, normalised or not, across
/// its three buckets and past its maximum length.
/// </summary>
public sealed class SecondModelSizeTests
{
    /// <summary>Two float32 layers of width 8 against float64: the largest difference measured over these texts and poolings was 1.2e-7 (2026-11-30, Vector512).</summary>
    private const double Tolerance = 1e-5;

    private static readonly string[] s_texts =
    {
        "the cat",                                              // 4 tokens: bucket 4
        "the cat sat on the mat",                               // 8 tokens: bucket 8
        "a big red ball and the dogs ran away",                 // 12 tokens (dogs = dog ##s): bucket 12
        "the cat sat on the mat and the dog ran far away",      // 14 tokens: truncated to 12
        "",                                                     // [CLS] [SEP]
        "cats",                                                 // cat ##s: 4 tokens
    };

    public static TheoryData<SentencePooling, bool> Poolings() => new()
    {
        { SentencePooling.Mean, true }, { SentencePooling.Mean, false }, { SentencePooling.Cls, true }, { SentencePooling.Max, false },
    };

    [Theory]
    [MemberData(nameof(Poolings))]
    public void Tiny_model_from_a_file_matches_the_float64_reference(SentencePooling pooling, bool normalize)
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { Pooling = pooling, Normalize = normalize });
        Assert.Equal(new[] { 4, 8, 12 }, encoder.SequenceBuckets);
        Assert.Equal(nameof(TinyBertShape), encoder.ShapeName);

        float[][] embeddings = encoder.Embed(s_texts, TestContext.Current.CancellationToken);

        BertWeights weights = OnnxBertLoader.Load(directory.ModelPath);
        for (int i = 0; i < s_texts.Length; i++)
        {
            long[] ids = Tokens(encoder, s_texts[i]);
            double[] expected = Pool(ReferenceEncoder.Run(weights, ids, new long[ids.Length]), pooling, normalize);
            double worst = expected.Select((value, c) => Math.Abs(value - embeddings[i][c])).Max();
            Assert.True(worst <= Tolerance, $"text {i} ({ids.Length} tokens), {pooling}, normalize {normalize}: largest |ours − float64| {worst:E2}");
        }
    }

    [Fact]
    public void The_texts_reach_every_bucket_and_the_truncation()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        int[] counts = s_texts.Select(t => Tokens(encoder, t).Length).ToArray();
        Assert.Equal(new[] { 4, 8, 12, 12, 2, 4 }, counts);
        Assert.Equal(new[] { 4, 8, 12, 12, 4, 4 }, counts.Select(encoder.BucketFor));
    }

    [Fact]
    public void Default_buckets_are_MaxLength_alone_when_it_is_at_most_16()
    {
        Assert.Equal(new[] { TinyBertModel.MaxPositions }, TinyBertDefaultBucketsShape.Buckets);
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertDefaultBucketsShape>(directory.ModelPath, directory.VocabularyPath);
        SentenceEncoder bucketed = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        float[][] one = encoder.Embed(s_texts, TestContext.Current.CancellationToken);
        float[][] three = bucketed.Embed(s_texts, TestContext.Current.CancellationToken);
        for (int i = 0; i < s_texts.Length; i++)
        {
            Assert.True(SentenceEncoder.CosineSimilarity(one[i], three[i]) >= 0.99999, $"text {i}");
        }
    }

    [Fact]
    public void Loading_from_streams_equals_loading_from_files()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder fromFiles = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        using Stream model = File.OpenRead(directory.ModelPath), vocabulary = File.OpenRead(directory.VocabularyPath);
        SentenceEncoder fromStreams = SentenceEncoder.Load<TinyBertShape>(model, vocabulary);
        Assert.Equal(
            fromFiles.Embed(s_texts, TestContext.Current.CancellationToken).SelectMany(e => e),
            fromStreams.Embed(s_texts, TestContext.Current.CancellationToken).SelectMany(e => e));
    }

    [Fact]
    public void A_model_of_other_widths_is_refused_naming_the_file_and_the_declaration()
    {
        using var directory = new TinyModelDirectory();
        var error = Assert.Throws<InvalidDataException>(() => SentenceEncoder.Load<MiniLmShape>(directory.ModelPath, directory.VocabularyPath));
        Assert.Contains(directory.ModelPath, error.Message, StringComparison.Ordinal);
        Assert.Contains($"hidden size {TinyBertModel.Hidden}, {TinyBertModel.Heads} heads, FFN width {TinyBertModel.Ffn} and {TinyBertModel.MaxPositions} positions", error.Message, StringComparison.Ordinal);
        Assert.Contains("MiniLmShape declares [SentenceEncoderShape(384, 12, 1536, MaxLength = 256)]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_declaration_with_another_activation_is_refused_naming_it()
    {
        using var directory = new TinyModelDirectory();
        var error = Assert.Throws<InvalidDataException>(() => SentenceEncoder.Load<TinyBertTanhShape>(directory.ModelPath, directory.VocabularyPath));
        Assert.Contains("TinyBertTanhShape declares Activation = GeluTanh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_out_of_range_throw_before_anything_runs()
    {
        using var directory = new TinyModelDirectory();
        foreach (SentenceEncoderOptions options in new[]
        {
            new SentenceEncoderOptions { MaxTokens = 1 }, new SentenceEncoderOptions { MaxTokens = 13 }, new SentenceEncoderOptions { MaxTokensPerBatch = 0 },
            new SentenceEncoderOptions { MaxDegreeOfParallelism = 0 }, new SentenceEncoderOptions { MaxPooledWorkspaces = -1 },
            new SentenceEncoderOptions { Pooling = (SentencePooling)7 },
        })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, options));
        }
    }

    [Fact]
    public void MaxTokens_truncates_and_drops_the_buckets_above_it()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxTokens = 6 });
        Assert.Equal(new[] { 4, 8 }, encoder.SequenceBuckets);
        Assert.Equal(6, Tokens(encoder, s_texts[2]).Length);
    }

    internal static long[] Tokens(SentenceEncoder encoder, string text)
    {
        var ids = new long[encoder.MaxTokens];
        int count = encoder.Tokenizer.Encode(text, ids, new long[ids.Length], new long[ids.Length]);
        return ids[..count];
    }

    /// <summary>sentence-transformers' pooling and Normalize, in double, over the reference's last hidden state.</summary>
    internal static double[] Pool(double[,] hidden, SentencePooling pooling, bool normalize)
    {
        int n = hidden.GetLength(0), h = hidden.GetLength(1);
        var pooled = new double[h];
        for (int c = 0; c < h; c++)
        {
            IEnumerable<double> column = Enumerable.Range(0, n).Select(t => hidden[t, c]);
            pooled[c] = pooling switch
            {
                SentencePooling.Cls => hidden[0, c],
                SentencePooling.Max => column.Max(),
                _ => column.Average(),
            };
        }

        double norm = normalize ? Math.Max(Math.Sqrt(pooled.Sum(v => v * v)), 1e-12) : 1;
        return pooled.Select(v => v / norm).ToArray();
    }
}
