using System;
using System.IO;
using System.Text;
using FixedShapeAttention.Encoder;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// BertWeights is filled by an object initializer, so it can hold a null or a short table; SentenceEncoder.Create
/// refuses one with an ArgumentException naming the table and its expected size, instead of failing later inside the
/// embeddings (it was a NullReferenceException, found by the hostile-argument test).
/// </summary>
public sealed class SentenceEncoderWeightsValidationTests
{
    private const int Hidden = 384, Vocab = 8, Positions = 256, Types = 2;

    [Fact]
    public void Null_config_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => SentenceEncoder.Create<MiniLmShape>(Weights(nullConfig: true), Tokenizer()));
        Assert.Equal("weights", error.ParamName);
        Assert.Contains("weights.Config is null", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(BertWeights.WordEmbeddings), Vocab * Hidden)]
    [InlineData(nameof(BertWeights.PositionEmbeddings), Positions * Hidden)]
    [InlineData(nameof(BertWeights.TokenTypeEmbeddings), Types * Hidden)]
    [InlineData(nameof(BertWeights.EmbeddingLayerNormGamma), Hidden)]
    public void A_short_or_null_table_is_refused_naming_its_expected_size(string table, int expected)
    {
        foreach (float[]? wrong in new[] { null, new float[expected - 1] })
        {
            var error = Assert.Throws<ArgumentException>(() => SentenceEncoder.Create<MiniLmShape>(Weights(shortTable: table, replacement: wrong), Tokenizer()));
            Assert.Contains($"weights.{table}: expected {expected} = ", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Missing_or_null_layers_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => SentenceEncoder.Create<MiniLmShape>(Weights(layers: [null!]), Tokenizer()));
        Assert.Contains("weights.Layers", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SentenceEncoder.Create<MiniLmShape>(Weights(layers: []), Tokenizer()));
    }

    private static BertWeights Weights(bool nullConfig = false, string? shortTable = null, float[]? replacement = null, EncoderLayerParameters[]? layers = null)
    {
        float[] Table(string name, int length) => name == shortTable ? replacement! : new float[length];
        return new BertWeights
        {
            Config = nullConfig ? null! : new BertConfig(Vocab, Hidden, 1, 12, 1536, Positions, Types, 1e-12f),
            WordEmbeddings = Table(nameof(BertWeights.WordEmbeddings), Vocab * Hidden),
            PositionEmbeddings = Table(nameof(BertWeights.PositionEmbeddings), Positions * Hidden),
            TokenTypeEmbeddings = Table(nameof(BertWeights.TokenTypeEmbeddings), Types * Hidden),
            EmbeddingLayerNormGamma = Table(nameof(BertWeights.EmbeddingLayerNormGamma), Hidden),
            EmbeddingLayerNormBeta = Table(nameof(BertWeights.EmbeddingLayerNormBeta), Hidden),
            Layers = layers ?? [],
        };
    }

    private static WordPieceTokenizer Tokenizer() =>
        WordPieceTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")));
}
