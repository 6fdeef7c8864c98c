using FixedShapeAttention.SampleModels;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// The tokenizer over all-MiniLM-L6-v2's vocab.txt. Expected ids come from looking tokens up in vocab.txt (id = line
/// number), and word pieces from a reference greedy longest-match over the same file, never from the tokenizer.
/// </summary>
public sealed class WordPieceTokenizerTests
{
    private static readonly Lazy<Dictionary<string, long>> LazyVocabulary = new(ReadVocabulary);
    private static readonly Lazy<WordPieceTokenizer> LazyTokenizer = new(() =>
    {
        using Stream vocabulary = MiniLmPackage.OpenVocabulary();
        return WordPieceTokenizer.FromVocab(vocabulary);
    });

    private static Dictionary<string, long> Vocabulary => LazyVocabulary.Value;

    private static WordPieceTokenizer Tokenizer => LazyTokenizer.Value;

    [Fact]
    public void Sentence_is_encoded_as_CLS_words_SEP_then_padding()
    {
        (long[] ids, long[] mask, long[] types, int count) = Encode("A man is eating food.", 16);

        long[] tokens = Ids("[CLS]", "a", "man", "is", "eating", "food", ".", "[SEP]");
        Assert.Equal(tokens.Length, count);
        Assert.Equal([.. tokens, .. Enumerable.Repeat(Vocabulary["[PAD]"], 16 - tokens.Length)], ids);
        Assert.Equal([.. Enumerable.Repeat(1L, tokens.Length), .. new long[16 - tokens.Length]], mask);
        Assert.Equal(new long[16], types);
    }

    [Fact]
    public void Input_is_lowercased_and_accents_are_stripped()
    {
        Assert.Equal(Encode("A man is eating food.", 16).Ids, Encode("A MAN Is EATING Food.", 16).Ids);
        Assert.Equal(Ids("[CLS]", "cafe", "naive", "[SEP]"), Encode("Café NAÏVE", 4).Ids);
    }

    [Theory]
    [InlineData("unaffable")]
    [InlineData("tokenization")]
    [InlineData("wordpiece")]
    public void Word_missing_from_the_vocabulary_is_split_into_its_longest_word_pieces(string word)
    {
        string[] pieces = ReferenceWordPieces(word);
        Assert.True(pieces.Length > 1, $"'{word}' is a whole vocabulary entry; pick a word that must be split");

        long[] ids = Encode(word, pieces.Length + 2).Ids;

        Assert.Equal(Ids(["[CLS]", .. pieces, "[SEP]"]), ids);
    }

    [Fact]
    public void Character_missing_from_the_vocabulary_becomes_UNK()
    {
        Assert.False(Vocabulary.ContainsKey("☃"));

        Assert.Equal(Ids("[CLS]", "a", "[UNK]", "[SEP]"), Encode("a ☃", 4).Ids);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    public void Text_longer_than_the_spans_is_truncated_and_still_ends_with_SEP(int length)
    {
        string[] words = ["a", "man", "is", "eating", "food", "."];

        (long[] ids, long[] mask, _, int count) = Encode("A man is eating food.", length);

        Assert.Equal(length, count);
        Assert.Equal(Ids(["[CLS]", .. words[..(length - 2)], "[SEP]"]), ids);
        Assert.All(mask, m => Assert.Equal(1L, m));
    }

    /// <summary>
    /// Truncation keeps the tokens the whole text gives: an accented word at the cut is "naive", not a piece of it
    /// (FastBertTokenizer 1.2.6 truncating by itself gives "na" here; the wrapper tokenizes first, then cuts).
    /// </summary>
    [Theory]
    [InlineData("a naïve b", "a naive")]
    [InlineData("Café NAÏVE", "cafe naive")]
    [InlineData("naïve", "naive")]
    public void Accented_word_at_the_cut_is_kept_whole(string text, string expectedWords)
    {
        string[] words = expectedWords.Split(' ');

        long[] ids = Encode(text, words.Length + 2).Ids;

        Assert.Equal(Ids(["[CLS]", .. words, "[SEP]"]), ids);
    }

    [Fact]
    public void Truncation_can_cut_between_the_pieces_of_a_word()
    {
        string[] pieces = ReferenceWordPieces("unaffable");

        long[] ids = Encode("unaffable", pieces.Length + 1).Ids;

        Assert.Equal(Ids(["[CLS]", .. pieces[..^1], "[SEP]"]), ids);
    }

    [Fact]
    public void Long_text_fills_the_spans_and_ends_with_SEP()
    {
        string text = string.Join(' ', Enumerable.Repeat("a man is eating food.", 2000));

        (long[] ids, long[] mask, _, int count) = Encode(text, 128);

        Assert.Equal(128, count);
        Assert.Equal(Ids("[CLS]", "a", "man", "is", "eating", "food", ".", "a"), ids[..8]);
        Assert.Equal(Vocabulary["[SEP]"], ids[^1]);
        Assert.All(mask, m => Assert.Equal(1L, m));
    }

    [Fact]
    public void Text_that_exactly_fills_the_spans_has_no_padding()
    {
        (long[] ids, long[] mask, _, int count) = Encode("A man is eating food.", 8);

        Assert.Equal(8, count);
        Assert.Equal(Ids("[CLS]", "a", "man", "is", "eating", "food", ".", "[SEP]"), ids);
        Assert.All(mask, m => Assert.Equal(1L, m));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n ")]
    public void Empty_text_is_CLS_SEP_then_padding(string text)
    {
        (long[] ids, long[] mask, _, int count) = Encode(text, 6);

        Assert.Equal(2, count);
        Assert.Equal(Ids("[CLS]", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"), ids);
        Assert.Equal([1L, 1, 0, 0, 0, 0], mask);
    }

    [Fact]
    public void Spans_of_different_lengths_or_shorter_than_2_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a", new long[1], new long[1], new long[1]));
        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a", new long[4], new long[3], new long[4]));
        Assert.Throws<ArgumentException>(() => Tokenizer.Encode("a", new long[4], new long[4], new long[5]));
    }

    [Fact]
    public void Vocabulary_without_the_special_tokens_is_rejected()
    {
        using var vocabulary = new MemoryStream(Encoding.UTF8.GetBytes("hello\nworld\n"));

        Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromVocab(vocabulary));
    }

    private static (long[] Ids, long[] Mask, long[] Types, int Count) Encode(string text, int length)
    {
        var ids = new long[length];
        var mask = new long[length];
        var types = new long[length];
        Array.Fill(types, -1);
        int count = Tokenizer.Encode(text, ids, mask, types);
        return (ids, mask, types, count);
    }

    private static long[] Ids(params string[] tokens) => tokens.Select(t => Vocabulary[t]).ToArray();

    /// <summary>
    /// WordPiece as the BERT paper describes it: repeatedly take the longest vocabulary entry that starts the rest of
    /// the word, continuation pieces carrying the "##" prefix.
    /// </summary>
    private static string[] ReferenceWordPieces(string word)
    {
        var pieces = new List<string>();
        for (int start = 0; start < word.Length;)
        {
            string prefix = start == 0 ? "" : "##";
            int end = word.Length;
            while (end > start && !Vocabulary.ContainsKey(prefix + word[start..end]))
                end--;
            if (end == start)
                return ["[UNK]"];
            pieces.Add(prefix + word[start..end]);
            start = end;
        }

        return [.. pieces];
    }

    private static Dictionary<string, long> ReadVocabulary()
    {
        using var reader = new StreamReader(MiniLmPackage.OpenVocabulary(), Encoding.UTF8);
        var vocabulary = new Dictionary<string, long>(StringComparer.Ordinal);
        long id = 0;
        while (reader.ReadLine() is { } line)
            vocabulary.TryAdd(line, id++);
        return vocabulary;
    }
}
