using System;
using System.IO;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// <see cref="SentenceEncoder.LoadDirectory{TShape}"/> reads sentence-transformers' choices from the model directory,
/// lets explicit options win, and refuses configurations it cannot run with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class ModelDirectoryTests
{
    [Theory]
    [InlineData(true, false, false, false, SentencePooling.Mean)]
    [InlineData(false, true, false, true, SentencePooling.Cls)]
    [InlineData(false, false, true, true, SentencePooling.Max)]
    public void Pooling_and_normalisation_come_from_modules_json_and_the_pooling_config(bool mean, bool cls, bool max, bool normalize, SentencePooling expected)
    {
        using var directory = new TinyModelDirectory();
        directory.WriteSentenceTransformers(TinyModelDirectory.PoolingConfig(mean: mean, cls: cls, max: max), normalize);

        SentenceEncoder encoder = SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path);

        Assert.Equal(expected, encoder.Pooling);
        Assert.Equal(normalize, encoder.Normalize);
        BertWeights weights = OnnxBertLoader.Load(directory.ModelPath);
        long[] ids = SecondModelSizeTests.Tokens(encoder, "the cat sat");
        double[] reference = SecondModelSizeTests.Pool(ReferenceEncoder.Run(weights, ids, new long[ids.Length]), expected, normalize);
        float[] ours = encoder.Embed(new[] { "the cat sat" }, TestContext.Current.CancellationToken)[0];
        for (int c = 0; c < reference.Length; c++)
        {
            Assert.True(Math.Abs(reference[c] - ours[c]) <= 1e-5, $"channel {c}: {ours[c]} vs {reference[c]}");
        }
    }

    [Fact]
    public void Without_sentence_transformers_files_the_encoder_mean_pools_and_normalises()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path);
        Assert.Equal(SentencePooling.Mean, encoder.Pooling);
        Assert.True(encoder.Normalize);
        Assert.Equal(TinyBertModel.MaxPositions, encoder.MaxTokens);
    }

    [Fact]
    public void Explicit_options_win_over_the_files()
    {
        using var directory = new TinyModelDirectory();
        directory.WriteSentenceTransformers(TinyModelDirectory.PoolingConfig(cls: true), normalize: true);
        SentenceEncoder encoder = SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path, new SentenceEncoderOptions { Pooling = SentencePooling.Max, Normalize = false });
        Assert.Equal(SentencePooling.Max, encoder.Pooling);
        Assert.False(encoder.Normalize);
    }

    [Fact]
    public void Max_seq_length_truncates_and_a_model_in_an_onnx_folder_is_found()
    {
        using var directory = new TinyModelDirectory();
        Directory.CreateDirectory(Path.Combine(directory.Path, "onnx"));
        File.Move(directory.ModelPath, Path.Combine(directory.Path, "onnx", "model.onnx"));
        directory.WriteFile("sentence_bert_config.json", """{"max_seq_length": 8, "do_lower_case": false}""");

        SentenceEncoder encoder = SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path);

        Assert.Equal(8, encoder.MaxTokens);
        Assert.Equal(new[] { 4, 8 }, encoder.SequenceBuckets);
    }

    [Fact]
    public void Do_lower_case_false_keeps_the_case()
    {
        using var directory = new TinyModelDirectory();
        directory.WriteFile("tokenizer_config.json", """{"do_lower_case": false}""");
        SentenceEncoder cased = SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path);
        // [CLS] [UNK] [SEP]: the vocabulary has "cat" only.
        Assert.Equal(new long[] { 2, 1, 3 }, SecondModelSizeTests.Tokens(cased, "Cat"));
        File.Delete(Path.Combine(directory.Path, "tokenizer_config.json"));
        Assert.Equal(new long[] { 2, 6, 3 }, SecondModelSizeTests.Tokens(SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path), "Cat"));
    }

    public static TheoryData<string, string, string> Unsupported() => new()
    {
        { "a Dense module", "modules.json", """[{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}]""" },
        { "a Pooling path outside the directory", "modules.json", """[{"path": "../elsewhere", "type": "sentence_transformers.models.Pooling"}]""" },
        { "a Pooling module without its config", "modules.json", """[{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""" },
        { "modules.json that is not an array", "modules.json", """{"type": "sentence_transformers.models.Pooling"}""" },
        { "modules.json that is not JSON", "modules.json", "[{" },
        { "a non-string type", "modules.json", """[{"path": "1_Pooling", "type": 3}]""" },
        { "max_seq_length of 1", "sentence_bert_config.json", """{"max_seq_length": 1}""" },
        { "do_lower_case that is not a boolean", "tokenizer_config.json", """{"do_lower_case": "yes"}""" },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void Configurations_it_cannot_run_throw_InvalidDataException_naming_the_file(string what, string file, string json)
    {
        _ = what;
        using var directory = new TinyModelDirectory();
        directory.WriteFile(file, json);
        var error = Assert.Throws<InvalidDataException>(() => SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path));
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> UnsupportedPooling() => new()
    {
        { "mean-sqrt-length pooling", TinyModelDirectory.PoolingConfig(meanSqrt: true), "pooling_mode_mean_sqrt_len_tokens" },
        { "two poolings concatenated", TinyModelDirectory.PoolingConfig(mean: true, max: true), "more than one pooling mode" },
        { "no pooling", TinyModelDirectory.PoolingConfig(), "no pooling mode" },
        { "a pooling width other than the model's", TinyModelDirectory.PoolingConfig(mean: true, dimension: 384), "word_embedding_dimension is 384" },
    };

    [Theory]
    [MemberData(nameof(UnsupportedPooling))]
    public void Pooling_configurations_it_cannot_run_are_refused(string what, string config, string expected)
    {
        _ = what;
        using var directory = new TinyModelDirectory();
        directory.WriteSentenceTransformers(config, normalize: true);
        var error = Assert.Throws<InvalidDataException>(() => SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_directory_or_model_file_is_reported_as_not_found()
    {
        Assert.Throws<DirectoryNotFoundException>(() => SentenceEncoder.LoadDirectory<TinyBertShape>(Path.Combine(Path.GetTempPath(), "fsa-no-such-model-dir")));
        using var directory = new TinyModelDirectory();
        File.Delete(directory.ModelPath);
        Assert.Throws<FileNotFoundException>(() => SentenceEncoder.LoadDirectory<TinyBertShape>(directory.Path));
    }
}
