using System;
using System.Linq;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// The sentence-embedding benchmark's input: texts of mixed length made from a fixed word list with a seeded
/// random, so every run and every machine embeds the same 1,000 texts. Lengths follow a search-index-like mix: 70%
/// short (4 to 20 words: queries, titles), 25% medium (20 to 80 words: sentences, short paragraphs), 5% long (80 to
/// 240 words, which all-MiniLM-L6-v2 truncates at 256 tokens).
/// </summary>
public static class BenchmarkTexts
{
    private static readonly string[] s_words =
    (
        "the of and a to in is you that it he was for on are as with his they at be this have from or one had by word but " +
        "not what all were we when your can said there use an each which she do how their if will up other about out many " +
        "then them these so some her would make like him into time has look two more write go see number no way could people " +
        "my than first water been call who oil its now find long down day did get come made may part embedding vector search " +
        "transformer attention kernel benchmark throughput latency sentence similarity retrieval database index query document " +
        "encoder tokenizer language model neural network training inference runtime memory cache processor thread batch"
    ).Split(' ');

    /// <summary><paramref name="count"/> texts from <paramref name="seed"/>; the same arguments give the same texts.</summary>
    public static string[] MixedLengths(int count = 1000, int seed = 2026)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            double draw = random.NextDouble();
            int words = draw < 0.70 ? random.Next(4, 21) : draw < 0.95 ? random.Next(20, 81) : random.Next(80, 241);
            string text = string.Join(' ', Enumerable.Range(0, words).Select(_ => s_words[random.Next(s_words.Length)]));
            return char.ToUpperInvariant(text[0]) + text[1..] + ".";
        }).ToArray();
    }
}
